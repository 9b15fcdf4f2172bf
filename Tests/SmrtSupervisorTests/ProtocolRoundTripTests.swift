import SmrtProtocol
import Testing

@Suite struct ProtocolRoundTripTests {
    @Test(arguments: sampleMessages)
    func encodesAndDecodesToTheSameMessage(_ message: WorkerMessage) throws {
        let frame = message.encodeFrame()
        #expect(frame.count == WireFormat.headerBytes + message.bodyByteCount)
        var decoder = FrameDecoder()
        decoder.append(frame)
        #expect(try decoder.next() == message)
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func lengthPrefixIsTheBodyLengthInBigEndian() {
        let frame = WorkerMessage.cancel(jobId: 1).encodeFrame()
        #expect(Array(frame.prefix(4)) == [0, 0, 0, 9])
        #expect(frame[4] == MessageType.cancel.rawValue)
    }

    @Test func encodeIntoAppendsAfterExistingBytes() throws {
        var buffer: [UInt8] = []
        for message in sampleMessages { message.encodeFrame(into: &buffer) }
        #expect(buffer == sampleMessages.flatMap { $0.encodeFrame() })
    }

    @Test func messageTypesMatchTheirBytes() {
        #expect(MessageType.allCases.map(\.rawValue) == Array(1...10))
        #expect(MessageType.allCases.map(\.description)
            == ["HELLO", "RUN", "CANCEL", "SHUTDOWN", "RESULT_OK", "RESULT_ERROR", "PROGRESS", "KEEPALIVE", "RETIRE", "STARTED"])
        #expect(MessageType.allCases.filter(\.isSentByWorker)
            == [.hello, .resultOK, .resultError, .progress, .retire, .started])
    }
}
