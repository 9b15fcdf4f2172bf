import SmrtProtocol
import Testing

/// Random input must make the decoder throw or return messages: never crash, never loop. Every message it
/// does return must re-encode to exactly the bytes it came from (the encoding is canonical).
@Suite struct ProtocolFuzzTests {
    /// Feeds `input` in random chunks; returns the decoded messages and whether decoding ended in an error.
    func decode(_ input: [UInt8], using generator: inout SeededGenerator, maxFrameBytes: Int = 4096)
        -> (messages: [WorkerMessage], failed: Bool)
    {
        var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        var messages: [WorkerMessage] = []
        var offset = 0
        do {
            while offset < input.count {
                let size = min(input.count - offset, Int.random(in: 1...64, using: &generator))
                input[offset..<(offset + size)].withUnsafeBytes { decoder.append($0) }
                offset += size
                // Each message consumes at least 5 bytes, so this loop is bounded by the input length.
                while let message = try decoder.next() { messages.append(message) }
            }
            return (messages, false)
        } catch {
            return (messages, true)
        }
    }

    func checkCanonical(_ messages: [WorkerMessage], input: [UInt8]) {
        let reencoded = messages.flatMap { $0.encodeFrame() }
        #expect(reencoded.count <= input.count)
        #expect(Array(input.prefix(reencoded.count)) == reencoded)
    }

    @Test func randomBytes() {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<5000 {
            let length = Int.random(in: 0...80, using: &generator)
            var input = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Plausible headers make the body parsers, not just the length check, see random bytes.
            if input.count >= 5 && Bool.random(using: &generator) {
                let bodyLength = UInt32(Int.random(in: 1...(input.count - 4), using: &generator))
                input[0] = 0; input[1] = 0
                input[2] = UInt8(bodyLength >> 8); input[3] = UInt8(bodyLength & 0xFF)
                input[4] = UInt8.random(in: 1...7, using: &generator)
            }
            let (messages, _) = decode(input, using: &generator)
            checkCanonical(messages, input: input)
        }
    }

    @Test func mutatedValidFrames() {
        var generator = SeededGenerator(seed: 0x5EED_0002)
        var decodedSome = 0
        var failedSome = 0
        for _ in 0..<5000 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                sampleMessages.filter { $0.bodyByteCount < 1000 }.randomElement(using: &generator)!
                    .encodeFrame(into: &input)
            }
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                mutate(&input, using: &generator)
            }
            let (messages, failed) = decode(input, using: &generator)
            checkCanonical(messages, input: input)
            decodedSome += messages.isEmpty ? 0 : 1
            failedSome += failed ? 1 : 0
        }
        // Both outcomes occur, so the mutations exercise the decoder rather than always breaking the first byte.
        #expect(decodedSome > 500)
        #expect(failedSome > 500)
    }

    func mutate(_ input: inout [UInt8], using generator: inout SeededGenerator) {
        guard !input.isEmpty else { return }
        let index = Int.random(in: 0..<input.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: input[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
        case 1: input[index] = UInt8.random(in: 0...255, using: &generator)
        case 2: input.removeSubrange(index...)
        case 3: input.insert(UInt8.random(in: 0...255, using: &generator), at: index)
        case 4: input.remove(at: index)
        default: input[index] = [0x00, 0x01, 0x7F, 0x80, 0xFF].randomElement(using: &generator)!
        }
    }
}
