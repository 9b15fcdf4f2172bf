import Foundation
import SmrtJobs
import Testing

extension IntegrationTests {
    /// Rough end-to-end figures, off by default (SMRT_SUPERVISOR_BENCH=1; meaningful with release binaries,
    /// e.g. SMRT_SUPERVISOR and SMRT_DEMO_WORKER pointing into .build/release).
    @Suite(.enabled(if: ProcessInfo.processInfo.environment["SMRT_SUPERVISOR_BENCH"] != nil))
    struct Throughput {
        @Test func noopJobsPerSecond() throws {
            let db = try TestDatabase()
            let count = 5000
            _ = try db.store.enqueue(batch: (0..<count).map { _ in JobSpec(objectType: "Demo", method: "noop") }, now: Date())
            let start = Date()
            let supervisor = try SupervisorProcess(database: db, workers: 2)
            _ = try eventually("all jobs done", timeout: 120, context: { supervisor.logTail(5) }) { () -> Bool? in
                try db.store.stats(queue: nil).completed == count ? true : nil
            }
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "%d noop jobs with 2 workers in %.2f s: %.0f jobs/s", count, seconds, Double(count) / seconds))
        }
    }
}
