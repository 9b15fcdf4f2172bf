extension WorkerMessage {
    /// Decodes one frame body (type byte and fields, without the length prefix). The body must hold exactly
    /// one message: missing or extra bytes are errors.
    public static func decode(body: UnsafeRawBufferPointer) throws(ProtocolError) -> WorkerMessage {
        guard let first = body.first else { throw .emptyFrame }
        guard let type = MessageType(rawValue: first) else { throw .unknownMessageType(first) }
        var reader = FieldReader(body: body, message: type)
        let message: WorkerMessage
        switch type {
        case .hello:
            let version = try reader.integer(UInt16.self, "version")
            // Checked before the rest: another version may lay out the remaining fields differently.
            guard WireFormat.supportedVersions.contains(version) else {
                throw .unsupportedVersion(version, supported: WireFormat.supportedVersions)
            }
            let pid = Int32(bitPattern: try reader.integer(UInt32.self, "pid"))
            let count = try reader.integer(UInt32.self, "count")
            var types: [String] = []
            // Each name takes at least 4 bytes, so a lying count cannot make us reserve gigabytes.
            types.reserveCapacity(min(Int(count), reader.remaining / 4))
            for _ in 0..<count { types.append(try reader.string("types")) }
            message = .hello(version: version, pid: pid, types: types)
        case .run:
            let jobId = Int64(bitPattern: try reader.integer(UInt64.self, "jobId"))
            let attempt = try reader.integer(UInt32.self, "attempt")
            let deadline = try reader.integer(UInt64.self, "deadline")
            let objectType = try reader.string("objectType")
            let objectId = try reader.optionalString("objectId")
            let method = try reader.string("method")
            let args = try reader.string("args")
            message = .run(RunRequest(
                jobId: jobId, attempt: attempt, deadlineMillis: deadline, objectType: objectType,
                objectId: objectId, method: method, argsJSON: args))
        case .cancel:
            message = .cancel(jobId: Int64(bitPattern: try reader.integer(UInt64.self, "jobId")))
        case .shutdown:
            message = .shutdown
        case .resultOK:
            let jobId = Int64(bitPattern: try reader.integer(UInt64.self, "jobId"))
            message = .resultOK(jobId: jobId, result: try reader.optionalString("result"))
        case .resultError:
            let jobId = Int64(bitPattern: try reader.integer(UInt64.self, "jobId"))
            let retryable = try reader.flag("retryable")
            message = .resultError(jobId: jobId, retryable: retryable, message: try reader.string("message"))
        case .progress:
            let jobId = Int64(bitPattern: try reader.integer(UInt64.self, "jobId"))
            message = .progress(jobId: jobId, json: try reader.string("json"))
        case .keepalive:
            message = .keepalive(watchdogMillis: try reader.integer(UInt32.self, "watchdog"))
        case .retire:
            message = .retire
        case .started:
            message = .started(jobId: Int64(bitPattern: try reader.integer(UInt64.self, "jobId")))
        }
        guard reader.remaining == 0 else { throw .trailingBytes(message: type, count: reader.remaining) }
        return message
    }
}
