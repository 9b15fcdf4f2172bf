import Foundation
import SmrtJobs
import SmrtWorker

// smrt-demo-worker: a worker whose jobs misbehave on request, to exercise the supervisor end to end.
// SMRT_MAX_RESULT_BYTES lowers the result size limit (default 1 MiB), so tests can show an oversize result.
let maxResultBytes = ProcessInfo.processInfo.environment["SMRT_MAX_RESULT_BYTES"].flatMap { Int($0) } ?? (1 << 20)
let registry = ObjectRegistry(maxResultBytes: maxResultBytes)
Demo.register(in: registry)
// `--protocol-version N` announces an older protocol version, as a worker built for an older supervisor would.
if let flag = CommandLine.arguments.firstIndex(of: "--protocol-version") {
    let value = CommandLine.arguments.dropFirst(flag + 1).first
    guard let value, let version = UInt16(value) else {
        FileHandle.standardError.write(Data("smrt-demo-worker: --protocol-version needs a number, got '\(value ?? "")'\n".utf8))
        exit(2)
    }
    SmrtWorker.run(registry: registry, protocolVersion: version)
}
SmrtWorker.run(registry: registry)
