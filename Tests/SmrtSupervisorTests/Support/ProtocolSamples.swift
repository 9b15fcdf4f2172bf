import SmrtProtocol

/// Bytes from readable hex: "00 00 00 01 04" (spaces and newlines ignored).
func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// Hex for failure messages: "00 00 00 01 04".
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { $0 < 0x10 ? "0" + String($0, radix: 16, uppercase: true) : String($0, radix: 16, uppercase: true) }
        .joined(separator: " ")
}

/// At least one of every message, with edge values: empty and non-ASCII strings, absent and present
/// optionals, extreme integers.
let sampleMessages: [WorkerMessage] = [
    .hello(version: 1, pid: 4242, types: ["Demo", "PyDemo"]),
    .hello(version: 1, pid: Int32.max, types: []),
    .hello(version: 1, pid: -1, types: ["", "Ünïcødé 🚀"]),
    .run(RunRequest(jobId: 42, attempt: 1, deadlineMillis: 1_700_000_000_000, objectType: "Demo",
                    method: "echo", argsJSON: #"{"a":1}"#)),
    .run(RunRequest(jobId: Int64.max, attempt: UInt32.max, deadlineMillis: UInt64.max, objectType: "Document",
                    objectId: "doc-123", method: "generateSummary",
                    argsJSON: #"{"_agentConfig":{"model":"x"},"_scheduleId":7,"text":"😀"}"#)),
    .run(RunRequest(jobId: -1, attempt: 0, deadlineMillis: 0, objectType: "", objectId: "", method: "", argsJSON: "")),
    .cancel(jobId: 42),
    .cancel(jobId: Int64.min),
    .shutdown,
    .resultOK(jobId: 42, result: #"{"a":1}"#),
    .resultOK(jobId: 42, result: nil),
    .resultOK(jobId: 0, result: ""),
    .resultOK(jobId: 1, result: String(repeating: "x", count: 100_000)),
    .resultError(jobId: 42, retryable: false, message: "Method not found: Demo.nope"),
    .resultError(jobId: 43, retryable: true, message: ""),
    .progress(jobId: 42, json: #"{"fraction":0.5}"#),
    .keepalive(watchdogMillis: 10_000),
    .retire,
    .started(jobId: 42),
    .started(jobId: Int64.min),
    .hello(version: 4, pid: 4242, types: ["Demo"]),
]
