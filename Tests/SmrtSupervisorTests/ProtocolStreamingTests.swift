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

    @Test func acceptsAFrameOfExactlyTheLimit() throws {
        let message = WorkerMessage.resultOK(jobId: 1, result: String(repeating: "a", count: 100))
        var decoder = FrameDecoder(maxFrameBytes: message.bodyByteCount)
        decoder.append(message.encodeFrame())
        #expect(try decoder.next() == message)
    }
}
