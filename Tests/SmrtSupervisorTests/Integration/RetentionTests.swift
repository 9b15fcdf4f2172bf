import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// `--retain`: the supervisor prunes finished jobs past their status's retention, and keeps the others.
    @Suite struct Retention {
        static func prunesCompletedJobsPastTheirRetention(_ db: some QueueTestDatabase) throws {
            let completed = try (0..<5).map { _ in try db.enqueue("noop") }
            let failed = try db.enqueue("fail", ["message": "kept"])
            let supervisor = try SupervisorProcess(
                database: db, workers: 1,
                arguments: ["--retain", "completed=1s,failed=never", "--retain-interval", "200"])
            var finishedAt: [Int64: Date] = [:]
            for id in completed { finishedAt[id] = try db.waitFor(id, .completed, log: supervisor).completedAt }
            try db.waitFor(failed, .failed, log: supervisor)
            // Never before its retention ran out: a job already gone finished at least 1 s ago.
            for id in completed {
                let gone = try db.queueStore.get(id: id) == nil
                let age = Date().timeIntervalSince(try #require(finishedAt[id]))
                #expect(!gone || age >= 0.99, "job \(id) was pruned \(age) s after it finished")
            }
            // And within a few ticks of it.
            _ = try eventually("the completed jobs pruned", timeout: 10, context: { supervisor.logTail() }) { () -> Bool? in
                try completed.allSatisfy { try db.queueStore.get(id: $0) == nil } ? true : nil
            }
            // The log line follows the delete.
            _ = try eventually("jobs_pruned lines counting \(completed.count) jobs", timeout: 10, context: { supervisor.logTail() }) {
                supervisor.events("jobs_pruned").compactMap { $0["jobs"] as? Int }.reduce(0, +) == completed.count ? true : nil
            }
            #expect(try db.job(failed).status == .failed, "failed jobs are kept (failed=never)")
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        @Test func sqlite() throws {
            try Self.prunesCompletedJobsPastTheirRetention(try TestDatabase())
        }

        @Test(.enabled(if: PostgresTestServer.testsEnabled, "no PostgreSQL server: set SMRT_TEST_POSTGRES_URL or run scripts/test.sh"))
        func postgres() throws {
            try Self.prunesCompletedJobsPastTheirRetention(try PostgresTestDatabase())
        }
    }
}
