/// Turns a byte stream into messages. Feed it whatever `read` returned, in any chunking, then call `next()`
/// until it returns nil (more bytes needed).
///
/// ```swift
/// var decoder = FrameDecoder()
/// decoder.append(chunk)
/// while let message = try decoder.next() { handle(message) }
/// ```
///
/// A stream error is final: once `next()` has thrown, it throws the same error again, because the frame
/// boundaries after a bad frame cannot be trusted.
public struct FrameDecoder: Sendable {
    /// The largest frame body accepted. A larger length prefix fails as soon as its 4 bytes arrive.
    public let maxFrameBytes: Int

    private var buffer: [UInt8] = []
    /// Where the first undecoded byte is in `buffer`; consumed bytes are dropped lazily.
    private var start = 0
    private var failure: ProtocolError?

    public init(maxFrameBytes: Int = WireFormat.defaultMaxFrameBytes) {
        precondition(maxFrameBytes >= 1, "maxFrameBytes must be at least 1")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes received but not yet decoded (a partial frame).
    public var bufferedByteCount: Int { buffer.count - start }

    /// The type of the next message when its whole frame is buffered (nil: no complete frame, a type byte this side
    /// does not know, or a failed stream), without decoding or consuming it.
    public var nextMessageType: MessageType? {
        guard failure == nil, buffer.count - start > WireFormat.headerBytes else { return nil }
        let start = self.start
        let length = buffer.withUnsafeBytes {
            Int(UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        }
        guard length >= 1, length <= maxFrameBytes, buffer.count - start - WireFormat.headerBytes >= length else { return nil }
        return MessageType(rawValue: buffer[start + WireFormat.headerBytes])
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if start > 0 {
            // Only the partial frame at the end is moved, and each byte at most once.
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete message, or nil when more bytes are needed.
    /// - Throws: `ProtocolError` when the stream is malformed; the decoder then stays failed.
    public mutating func next() throws(ProtocolError) -> WorkerMessage? {
        if let failure { throw failure }
        let available = buffer.count - start
        guard available >= WireFormat.headerBytes else { return nil }
        let start = self.start
        let length = buffer.withUnsafeBytes {
            Int(UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        }
        if length == 0 { return try fail(.emptyFrame) }
        if length > maxFrameBytes { return try fail(.frameTooLarge(bytes: length, limit: maxFrameBytes)) }
        guard available - WireFormat.headerBytes >= length else { return nil }

        let bodyStart = start + WireFormat.headerBytes
        let decoded: Result<WorkerMessage, ProtocolError> = buffer.withUnsafeBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)])
            do throws(ProtocolError) {
                return .success(try WorkerMessage.decode(body: body))
            } catch {
                return .failure(error)
            }
        }
        switch decoded {
        case .success(let message):
            self.start = bodyStart + length
            if self.start == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                self.start = 0
            }
            return message
        case .failure(let error):
            return try fail(error)
        }
    }

    private mutating func fail(_ error: ProtocolError) throws(ProtocolError) -> WorkerMessage? {
        failure = error
        buffer = []
        start = 0
        throw error
    }
}
