import Foundation
import SmrtJobs
import SmrtWorker

// smrt-demo-worker: a worker whose jobs misbehave on request, to exercise the supervisor end to end.
// SMRT_MAX_RESULT_BYTES lowers the result size limit (default 1 MiB), so tests can show an oversize result.
let maxResultBytes = ProcessInfo.processInfo.environment["SMRT_MAX_RESULT_BYTES"].flatMap { Int($0) } ?? (1 << 20)
let registry = ObjectRegistry(maxResultBytes: maxResultBytes)
Demo.register(in: registry)
SmrtWorker.run(registry: registry)
