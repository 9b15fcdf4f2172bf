extension WorkerMessage {
    /// The message as one frame: length prefix and body.
    public func encodeFrame() -> [UInt8] {
        let frameBytes = WireFormat.headerBytes + bodyByteCount
        return [UInt8](unsafeUninitializedCapacity: frameBytes) { buffer, initialized in
            write(into: UnsafeMutableRawPointer(buffer.baseAddress!))
            initialized = frameBytes
        }
    }

    /// Appends the message as one frame (length prefix and body) to `buffer`, so many frames can share one
    /// write. Fields are written straight into the buffer, without intermediate allocations.
    public func encodeFrame(into buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: WireFormat.headerBytes + bodyByteCount))
        buffer.withUnsafeMutableBytes { write(into: $0.baseAddress! + start) }
    }

    /// Writes the frame at `start`, which must have room for `headerBytes + bodyByteCount` bytes.
    private func write(into start: UnsafeMutableRawPointer) {
        var writer = FrameWriter(at: start)
        writer.integer(UInt32(truncatingIfNeeded: bodyByteCount))
        writer.integer(type.rawValue)
        switch self {
        case .hello(let version, let pid, let types):
            writer.integer(version)
            writer.integer(UInt32(bitPattern: pid))
            writer.integer(UInt32(truncatingIfNeeded: types.count))
            for name in types { writer.string(name) }
        case .run(let request):
            writer.integer(UInt64(bitPattern: request.jobId))
            writer.integer(request.attempt)
            writer.integer(request.deadlineMillis)
            writer.string(request.objectType)
            writer.optionalString(request.objectId)
            writer.string(request.method)
            writer.string(request.argsJSON)
        case .cancel(let jobId), .started(let jobId):
            writer.integer(UInt64(bitPattern: jobId))
        case .shutdown, .retire:
            break
        case .resultOK(let jobId, let result):
            writer.integer(UInt64(bitPattern: jobId))
            writer.optionalString(result)
        case .resultError(let jobId, let retryable, let message):
            writer.integer(UInt64(bitPattern: jobId))
            writer.integer(UInt8(retryable ? 1 : 0))
            writer.string(message)
        case .progress(let jobId, let json):
            writer.integer(UInt64(bitPattern: jobId))
            writer.string(json)
        case .keepalive(let watchdogMillis):
            writer.integer(watchdogMillis)
        }
    }

    /// The length of the frame body (type byte and fields), i.e. the value of the length prefix.
    /// Senders compare it with the peer's frame limit before sending large results.
    public var bodyByteCount: Int {
        func str(_ s: String) -> Int { 4 + s.utf8.count }
        func optstr(_ s: String?) -> Int { 1 + (s.map(str) ?? 0) }
        switch self {
        case .hello(_, _, let types):
            return types.reduce(1 + 2 + 4 + 4) { $0 + str($1) }
        case .run(let r):
            return 1 + 8 + 4 + 8 + str(r.objectType) + optstr(r.objectId) + str(r.method) + str(r.argsJSON)
        case .cancel, .started:
            return 1 + 8
        case .shutdown, .retire:
            return 1
        case .resultOK(_, let result):
            return 1 + 8 + optstr(result)
        case .resultError(_, _, let message):
            return 1 + 8 + 1 + str(message)
        case .progress(_, let json):
            return 1 + 8 + str(json)
        case .keepalive:
            return 1 + 4
        }
    }
}
