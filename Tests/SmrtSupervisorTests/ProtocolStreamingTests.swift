import SmrtProtocol
import Testing

@Suite struct ProtocolStreamingTests {
    @Test func decodesFramesDeliveredOneByteAtATime() throws {
        let stream = sampleMessages.flatMap { $0.encodeFrame() }
        var decoder = FrameDecoder()
        var decoded: [WorkerMessage] = []
        for byte in stream {
            decoder.append([byte])
            while let message = try decoder.next() { decoded.append(message) }
        }
        #expect(decoded == sampleMessages)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func decodesManyFramesFromOneChunk() throws {
        let messages = (0..<1000).map { i -> WorkerMessage in
            i % 2 == 0
                ? .run(RunRequest(jobId: Int64(i), objectType: "Demo", method: "echo", argsJSON: #"{"i":\#(i)}"#))
                : .resultOK(jobId: Int64(i), result: nil)
        }
        var stream: [UInt8] = []
        for message in messages { message.encodeFrame(into: &stream) }
        var decoder = FrameDecoder()
        decoder.append(stream)
        var decoded: [WorkerMessage] = []
        while let message = try decoder.next() { decoded.append(message) }
        #expect(decoded == messages)
    }

    @Test func decodesChunksThatSplitFramesAnywhere() throws {
        let stream = sampleMessages.flatMap { $0.encodeFrame() }
        var generator = SeededGenerator(seed: 7)
        var decoder = FrameDecoder()
        var decoded: [WorkerMessage] = []
        var offset = 0
        while offset < stream.count {
            let size = min(stream.count - offset, Int.random(in: 1...300, using: &generator))
            stream[offset..<(offset + size)].withUnsafeBytes { decoder.append($0) }
            offset += size
            while let message = try decoder.next() { decoded.append(message) }
        }
        #expect(decoded == sampleMessages)
    }

    @Test func waitsForTheRestOfAPartialFrame() throws {
        let frame = WorkerMessage.cancel(jobId: 9).encodeFrame()
        var decoder = FrameDecoder()
        decoder.append(Array(frame.prefix(3)))
        #expect(try decoder.next() == nil)
        decoder.append(Array(frame[3..<10]))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 10)
        decoder.append(Array(frame[10...]))
        #expect(try decoder.next() == .cancel(jobId: 9))
    }

    /// The supervisor looks behind a result for the worker's RETIRE: only a whole frame counts, and looking consumes
    /// nothing.
    @Test func nextMessageTypeNamesOnlyAWholeBufferedFrame() throws {
        var decoder = FrameDecoder()
        #expect(decoder.nextMessageType == nil)
        let result = WorkerMessage.resultOK(jobId: 3, result: nil).encodeFrame()
        decoder.append(result + [0, 0, 0])
        #expect(decoder.nextMessageType == .resultOK)
        #expect(try decoder.next() == .resultOK(jobId: 3, result: nil))
        #expect(decoder.nextMessageType == nil, "3 bytes of a length prefix")
        decoder.append([1])
        #expect(decoder.nextMessageType == nil, "a length prefix without its body")
        decoder.append([0x09])
        #expect(decoder.nextMessageType == .retire)
        #expect(decoder.nextMessageType == .retire, "looking consumes nothing")
        #expect(try decoder.next() == .retire)
        decoder.append([0, 0, 0, 1, 0x7F])
        #expect(decoder.nextMessageType == nil, "an unknown type")
        #expect(throws: ProtocolError.unknownMessageType(0x7F)) { try decoder.next() }
        decoder.append(WorkerMessage.retire.encodeFrame())
        #expect(decoder.nextMessageType == nil, "a failed stream")
    }

    @Test func acceptsAFrameOfExactlyTheLimit() throws {
        let message = WorkerMessage.resultOK(jobId: 1, result: String(repeating: "a", count: 100))
        var decoder = FrameDecoder(maxFrameBytes: message.bodyByteCount)
        decoder.append(message.encodeFrame())
        #expect(try decoder.next() == message)
    }
}
