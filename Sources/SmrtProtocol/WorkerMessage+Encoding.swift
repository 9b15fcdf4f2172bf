extension WorkerMessage {
    /// The message as one frame: length prefix and body.
    public func encodeFrame() -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(WireFormat.headerBytes + bodyByteCount)
        encodeFrame(into: &frame)
        return frame
    }

    /// Appends the message as one frame (length prefix and body) to `buffer`, so many frames can share one
    /// write. Fields are written straight into the buffer, without intermediate allocations.
    public func encodeFrame(into buffer: inout [UInt8]) {
        let bodyBytes = bodyByteCount
        buffer.reserveCapacity(buffer.count + WireFormat.headerBytes + bodyBytes)
        buffer.appendWire(UInt32(truncatingIfNeeded: bodyBytes))
        buffer.append(type.rawValue)
        switch self {
        case .hello(let version, let pid, let types):
            buffer.appendWire(version)
            buffer.appendWire(UInt32(bitPattern: pid))
            buffer.appendWire(UInt32(truncatingIfNeeded: types.count))
            for name in types { buffer.appendWire(name) }
        case .run(let request):
            buffer.appendWire(UInt64(bitPattern: request.jobId))
            buffer.appendWire(request.attempt)
            buffer.appendWire(request.deadlineMillis)
            buffer.appendWire(request.objectType)
            buffer.appendWireOptional(request.objectId)
            buffer.appendWire(request.method)
            buffer.appendWire(request.argsJSON)
        case .cancel(let jobId):
            buffer.appendWire(UInt64(bitPattern: jobId))
        case .shutdown:
            break
        case .resultOK(let jobId, let result):
            buffer.appendWire(UInt64(bitPattern: jobId))
            buffer.appendWireOptional(result)
        case .resultError(let jobId, let retryable, let message):
            buffer.appendWire(UInt64(bitPattern: jobId))
            buffer.append(retryable ? 1 : 0)
            buffer.appendWire(message)
        case .progress(let jobId, let json):
            buffer.appendWire(UInt64(bitPattern: jobId))
            buffer.appendWire(json)
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
        case .cancel:
            return 1 + 8
        case .shutdown:
            return 1
        case .resultOK(_, let result):
            return 1 + 8 + optstr(result)
        case .resultError(_, _, let message):
            return 1 + 8 + 1 + str(message)
        case .progress(_, let json):
            return 1 + 8 + str(json)
        }
    }
}
