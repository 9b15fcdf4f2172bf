import SmrtProtocol
import Testing

@Suite struct ProtocolErrorTests {
    /// Decodes `bytes` as one stream and returns the error it throws (nil if it throws none).
    func decodingError(_ bytes: [UInt8], maxFrameBytes: Int = WireFormat.defaultMaxFrameBytes) -> ProtocolError? {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        decoder.append(bytes)
        do {
            while try decoder.next() != nil {}
            return nil
        } catch {
            return error
        }
    }

    /// A frame around `body`, with a correct length prefix.
    func frame(_ body: [UInt8]) -> [UInt8] {
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + body
    }

    @Test func oversizeFrameFailsFromTheLengthPrefixAlone() {
        let error = decodingError([0x00, 0x40, 0x00, 0x01])
        #expect(error == .frameTooLarge(bytes: 4_194_305, limit: 4_194_304))
        #expect(error?.description == "frame of 4194305 bytes exceeds the limit of 4194304 bytes")
        #expect(decodingError([0xFF, 0xFF, 0xFF, 0xFF]) == .frameTooLarge(bytes: 4_294_967_295, limit: 4_194_304))
        #expect(decodingError(WorkerMessage.cancel(jobId: 1).encodeFrame(), maxFrameBytes: 8)
            == .frameTooLarge(bytes: 9, limit: 8))
    }

    @Test func zeroLengthFrame() {
        let error = decodingError([0, 0, 0, 0])
        #expect(error == .emptyFrame)
        #expect(error?.description == "zero-length frame (a frame body holds at least the message type byte)")
    }

    @Test func unknownMessageType() {
        #expect(decodingError(frame([0x2A])) == .unknownMessageType(0x2A))
        #expect(decodingError(frame([0x00, 1, 2])) == .unknownMessageType(0x00))
        #expect(ProtocolError.unknownMessageType(0x08).description == "unknown message type 0x08")
        #expect(ProtocolError.unknownMessageType(0xAB).description == "unknown message type 0xAB")
    }

    @Test func truncatedFields() {
        var run = WorkerMessage.run(RunRequest(jobId: 1, objectType: "Demo", method: "echo", argsJSON: "{}"))
            .encodeFrame()
        run.removeLast()
        run[3] -= 1  // a consistent length prefix: the body itself is short
        let error = decodingError(run)
        #expect(error == .truncatedField(message: .run, field: "args"))
        #expect(error?.description == "truncated field 'args' in RUN frame")

        #expect(decodingError(frame([0x03, 0, 0, 0, 0])) == .truncatedField(message: .cancel, field: "jobId"))
        #expect(decodingError(frame([0x05, 0, 0, 0, 0, 0, 0, 0, 1])) == .truncatedField(message: .resultOK, field: "result"))
        #expect(decodingError(frame([0x01, 0, 1, 0, 0])) == .truncatedField(message: .hello, field: "pid"))
        // A string length pointing past the end of the body.
        #expect(decodingError(frame([0x07, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B]))
            == .truncatedField(message: .progress, field: "json"))
    }

    @Test func helloWithALyingCountIsTruncatedNotAllocated() {
        let body: [UInt8] = [0x01, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0x41]
        #expect(decodingError(frame(body)) == .truncatedField(message: .hello, field: "types"))
    }

    @Test func invalidUTF8() {
        // RUN whose method is the single byte 0xFF.
        var body: [UInt8] = [0x02] + [UInt8](repeating: 0, count: 8 + 4 + 8)
        body += [0, 0, 0, 1, 0x41]  // objectType "A"
        body += [0]  // objectId absent
        body += [0, 0, 0, 1, 0xFF]  // method
        body += [0, 0, 0, 2, 0x7B, 0x7D]  // args "{}"
        let error = decodingError(frame(body))
        #expect(error == .invalidUTF8(message: .run, field: "method"))
        #expect(error?.description == "invalid UTF-8 in field 'method' of RUN frame")
        // An overlong encoding and a lone surrogate are invalid too.
        #expect(decodingError(frame([0x07, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0xC0, 0xAF]))
            == .invalidUTF8(message: .progress, field: "json"))
        #expect(decodingError(frame([0x07, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3, 0xED, 0xA0, 0x80]))
            == .invalidUTF8(message: .progress, field: "json"))
    }

    @Test func flagsOtherThanZeroOrOne() {
        let error = decodingError(frame([0x06, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0]))
        #expect(error == .invalidFlag(message: .resultError, field: "retryable", value: 2))
        #expect(error?.description
            == "invalid value 0x02 for field 'retryable' of RESULT_ERROR frame (expected 0 or 1)")
        #expect(decodingError(frame([0x05, 0, 0, 0, 0, 0, 0, 0, 1, 0x80]))
            == .invalidFlag(message: .resultOK, field: "result", value: 0x80))
    }

    @Test func trailingBytesInsideAFrame() {
        let error = decodingError(frame([0x04, 0x00]))
        #expect(error == .trailingBytes(message: .shutdown, count: 1))
        #expect(error?.description == "1 trailing byte after the last field of SHUTDOWN frame")
        #expect(decodingError(frame(Array(WorkerMessage.cancel(jobId: 5).encodeFrame().dropFirst(4)) + [1, 2, 3]))
            == .trailingBytes(message: .cancel, count: 3))
    }

    @Test func unsupportedVersion() {
        let error = decodingError(frame([0x01, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0]))
        #expect(error == .unsupportedVersion(5, supported: 1...4))
        #expect(error?.description == "unsupported protocol version 5 (this side speaks versions 1 to 4)")
        #expect(decodingError(frame([0x01, 0, 0])) == .unsupportedVersion(0, supported: 1...4))
    }

    @Test func anErrorIsFinal() throws {
        var decoder = FrameDecoder()
        decoder.append(WorkerMessage.shutdown.encodeFrame() + [0, 0, 0, 0] + WorkerMessage.shutdown.encodeFrame())
        #expect(try decoder.next() == .shutdown)
        #expect(throws: ProtocolError.emptyFrame) { try decoder.next() }
        decoder.append(WorkerMessage.shutdown.encodeFrame())
        #expect(throws: ProtocolError.emptyFrame) { try decoder.next() }
    }

    @Test func framesBeforeABadOneAreDelivered() throws {
        var decoder = FrameDecoder()
        decoder.append(WorkerMessage.cancel(jobId: 1).encodeFrame() + frame([0x0B]))
        #expect(try decoder.next() == .cancel(jobId: 1))
        #expect(throws: ProtocolError.unknownMessageType(0x0B)) { try decoder.next() }
    }
}
