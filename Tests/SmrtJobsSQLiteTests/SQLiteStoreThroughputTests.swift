import Foundation
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// Rough throughput figures, off by default (set SMRT_STORE_BENCH=1; meaningful in release builds).
@Suite("SQLite store throughput", .enabled(if: ProcessInfo.processInfo.environment["SMRT_STORE_BENCH"] != nil))
struct SQLiteStoreThroughputTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func rate(_ label: String, _ count: Int, _ body: () throws -> Void) rethrows {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("\(label): \(Int(Double(count) / seconds))/s (\(count) in \(String(format: "%.3f", seconds)) s)")
    }

    @Test func figures() throws {
        let directory = try TemporaryDirectory(prefix: "smrt-bench")
        defer { directory.remove() }
        let store = try SQLiteJobStore(path: directory.path("bench.sqlite"))
        let n = 20_000
        let spec = JobSpec(objectType: "Doc", method: "run", args: ["n": 1, "name": "x"])
        try rate("enqueue one per transaction", n) {
            for _ in 0..<n { _ = try store.enqueue(spec, now: now) }
        }
        try rate("claim+complete one per transaction", n) {
            for _ in 0..<n {
                let job = try store.claim(workerId: "w", limit: 1, queues: ["default"], now: now)[0]
                _ = try store.complete(id: job.id, workerId: "w", now: now)
            }
        }
        try rate("enqueue batches of 64", n) {
            for _ in 0..<(n / 64) { _ = try store.enqueue(batch: Array(repeating: spec, count: 64), now: now) }
        }
        let batched = (n / 64) * 64
        try rate("claim+complete batches of 64", batched) {
            for _ in 0..<(n / 64) {
                let jobs = try store.claim(workerId: "w", limit: 64, queues: ["default"], now: now)
                _ = try store.finish(jobs.map { AttemptReport(jobId: $0.id, outcome: .completed(result: nil)) }, workerId: "w", now: now)
            }
        }
        #expect(try store.stats(queue: nil).completed == n + batched)
    }
}
