import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// A job that takes its worker down fails with the cause named, is retried under its strategy, and nothing
    /// else is disturbed: the other jobs complete and the worker count comes back.
    @Suite struct CrashIsolation {
        @Test func segfaultFailsOnlyItsJobWhileTwentyNoopsComplete() throws {
            let db = try TestDatabase()
            let crash = try db.enqueue("crash", ["signal": "SEGV"])
            let noops = try (0..<20).map { _ in try db.enqueue("noop") }
            let supervisor = try SupervisorProcess(database: db)
            let failed = try db.waitFor(crash, .failed, log: supervisor)
            let error = try #require(failed.lastError)
            #expect(error.hasPrefix("worker "))
            #expect(error.hasSuffix(" killed by signal 11 (SIGSEGV)"))
            for id in noops { try db.waitFor(id, .completed, log: supervisor) }
            try supervisor.waitForWorkers(2)
            // The crash is logged as the job's failure, with the signal.
            let event = try supervisor.waitFor("job_failed") { $0["job_id"] as? Int == Int(crash) }
            #expect((event["error"] as? String)?.contains("SIGSEGV") == true)
            let respawns = supervisor.events("worker_ready").compactMap { $0["respawn_ms"] as? Double }
            #expect(!respawns.isEmpty)
            print("respawn after crash: \(respawns.map { String(format: "%.1f ms", $0) })")
        }

        @Test func exitCodeIsNamed() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("exit", ["code": 3])
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let job = try db.waitFor(id, .failed, log: supervisor)
            let error = try #require(job.lastError)
            #expect(error.hasPrefix("worker ") && error.hasSuffix(" exited with code 3"), "\(error)")
            try supervisor.waitForWorkers(1)
        }

        @Test func crashIsRetriedUnderItsStrategyThenFails() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("crash", ["signal": "ABRT"], maxAttempts: 2, retry: .linear(delay: 0))
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.attempts == 2)
            #expect(job.lastError?.contains("SIGABRT") == true)
            // The log writer may lag the database: every line of the job is there once its last one is.
            try supervisor.waitFor("job_failed") { $0["job_id"] as? Int == Int(id) }
            #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.count == 2)
            #expect(supervisor.events("job_retrying") { $0["job_id"] as? Int == Int(id) }.count == 1)
        }

        @Test func nonRetryableErrorFailsAtOnce() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("nope", maxAttempts: 3)
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.lastError == "Method not found: Demo.nope")
            #expect(job.attempts == 1)
        }

        @Test func retryableErrorUsesTheStrategy() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("fail", ["message": "boom"], maxAttempts: 3, retry: .linear(delay: 50))
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.lastError == "boom")
            #expect(job.attempts == 3)
        }

        @Test func workerOutputIsLoggedWithPidAndJob() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("print", ["text": "hello from job"])
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            try db.waitFor(id, .completed, log: supervisor)
            let lines = try supervisor.waitFor("worker_output", count: 2) { $0["line"] as? String == "hello from job" }
            #expect(Set(lines.compactMap { $0["stream"] as? String }) == ["stdout", "stderr"])
            for line in lines {
                #expect(line["job_id"] as? Int == Int(id))
                #expect((line["worker_pid"] as? Int ?? 0) > 0)
            }
        }
    }
}
