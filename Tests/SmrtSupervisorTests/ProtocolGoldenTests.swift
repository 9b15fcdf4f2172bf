import Foundation
import SmrtProtocol
import Testing

/// Byte-exact encodings, the reference for workers in other languages. The same bytes appear in
/// docs/worker-protocol.md, and examples/python-worker/worker.py produces them too.
@Suite struct ProtocolGoldenTests {
    static let golden: [(WorkerMessage, String)] = [
        (.hello(version: 1, pid: 4242, types: ["Demo", "PyDemo"]),
         "00 00 00 1D 01 00 01 00 00 10 92 00 00 00 02 00 00 00 04 44 65 6D 6F 00 00 00 06 50 79 44 65 6D 6F"),
        (.run(RunRequest(jobId: 42, attempt: 1, deadlineMillis: 1_700_000_000_000, objectType: "Demo",
                         method: "echo", argsJSON: #"{"a":1}"#)),
         """
         00 00 00 31 02 00 00 00 00 00 00 00 2A 00 00 00 01 00 00 01 8B CF E5 68 00 00 00 00 04 44 65 6D 6F
         00 00 00 00 04 65 63 68 6F 00 00 00 07 7B 22 61 22 3A 31 7D
         """),
        (.run(RunRequest(jobId: 7, attempt: 2, deadlineMillis: 0, objectType: "Doc", objectId: "d-1",
                         method: "go", argsJSON: "{}")),
         """
         00 00 00 30 02 00 00 00 00 00 00 00 07 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 03 44 6F 63
         01 00 00 00 03 64 2D 31 00 00 00 02 67 6F 00 00 00 02 7B 7D
         """),
        (.cancel(jobId: 42), "00 00 00 09 03 00 00 00 00 00 00 00 2A"),
        (.shutdown, "00 00 00 01 04"),
        (.resultOK(jobId: 42, result: #"{"a":1}"#),
         "00 00 00 15 05 00 00 00 00 00 00 00 2A 01 00 00 00 07 7B 22 61 22 3A 31 7D"),
        (.resultOK(jobId: 42, result: nil), "00 00 00 0A 05 00 00 00 00 00 00 00 2A 00"),
        (.resultError(jobId: 42, retryable: false, message: "Method not found: Demo.nope"),
         """
         00 00 00 29 06 00 00 00 00 00 00 00 2A 00 00 00 00 1B 4D 65 74 68 6F 64 20 6E 6F 74 20 66 6F 75 6E 64
         3A 20 44 65 6D 6F 2E 6E 6F 70 65
         """),
        (.progress(jobId: 42, json: #"{"fraction":0.5}"#),
         "00 00 00 1D 07 00 00 00 00 00 00 00 2A 00 00 00 10 7B 22 66 72 61 63 74 69 6F 6E 22 3A 30 2E 35 7D"),
        (.keepalive(watchdogMillis: 10_000), "00 00 00 05 08 00 00 27 10"),
        (.retire, "00 00 00 01 09"),
        (.hello(version: 3, pid: 4242, types: ["Demo"]),
         "00 00 00 13 01 00 03 00 00 10 92 00 00 00 01 00 00 00 04 44 65 6D 6F"),
        (.started(jobId: 42), "00 00 00 09 0A 00 00 00 00 00 00 00 2A"),
        (.hello(version: 4, pid: 4242, types: ["Demo"]),
         "00 00 00 13 01 00 04 00 00 10 92 00 00 00 01 00 00 00 04 44 65 6D 6F"),
    ]

    @Test(arguments: golden.indices)
    func encodesToTheGoldenBytes(_ index: Int) throws {
        let (message, hex) = Self.golden[index]
        let expected = hexBytes(hex)
        let actual = message.encodeFrame()
        #expect(actual == expected, "\(message.type): got \(hexString(actual))")

        var decoder = FrameDecoder()
        decoder.append(expected)
        #expect(try decoder.next() == message)
    }

    /// The specification shows the same bytes: every golden frame appears in its hex examples.
    @Test func specificationShowsTheGoldenBytes() throws {
        let spec = try String(
            contentsOf: WorkerHarness.packageRoot.appendingPathComponent("docs/worker-protocol.md"), encoding: .utf8)
        // The leading hex pairs of each line inside code blocks, comments after them ignored.
        var inBlock = false
        var shown: [UInt8] = []
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inBlock.toggle(); continue }
            guard inBlock else { continue }
            for token in line.split(separator: " ") {
                guard token.count == 2, let byte = UInt8(token, radix: 16) else { break }
                shown.append(byte)
            }
        }
        for (message, hex) in Self.golden {
            let frame = hexBytes(hex)
            let found = shown.indices.contains { start in
                shown[start...].starts(with: frame)
            }
            #expect(found, "docs/worker-protocol.md lacks the \(message.type) example \(hex)")
        }
    }
}
