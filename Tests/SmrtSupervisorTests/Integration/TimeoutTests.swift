import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kill lateness measured by the kill tests (ms after the deadline), printed at the end of each for the report.
nonisolated(unsafe) var measuredKillLateness: [Double] = []

extension IntegrationTests {
    /// `kill`: SIGKILL at the deadline, never before, a few ms late at most, also while the database is locked.
    /// `fail`: CANCEL, then SIGKILL after the grace. `warn`: a warning, the job runs on.
    @Suite struct Timeouts {
        /// Runs a `spin` job (deaf to CANCEL) with a 500 ms kill timeout; `whileStarted` runs once the job is
        /// dispatched. Returns the kill's lateness in ms.
        private func killSpinJob(whileStarted: ((TestDatabase) throws -> Void)? = nil) throws -> Double {
            let db = try TestDatabase()
            let pidFile = db.file("spin.pid")
            let id = try db.enqueue("spin", ["pidFile": .string(pidFile)], timeout: 500, behavior: .kill)
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            _ = try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            try whileStarted?(db)
            let pid: Int32 = try eventually("the spin job's pid file") {
                (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            let kill = try supervisor.waitFor("job_timeout", timeout: 5) { $0["job_id"] as? Int == Int(id) }
            #expect(kill["action"] as? String == "kill")
            let elapsed = try #require(kill["elapsed_ms"] as? Double)
            let late = try #require(kill["late_ms"] as? Double)
            #expect(elapsed >= 500 && elapsed < 600, "killed \(elapsed) ms after dispatch")
            #expect(late >= 0 && late < 100)
            #expect(kill["worker_pid"] as? Int == Int(pid))
            _ = try eventually("spinning worker \(pid) to be gone", timeout: 2) { processIsAlive(pid) ? nil : true }
            let job = try db.waitFor(id, .failed, timeout: 10, log: supervisor)
            #expect(job.lastError == "timed out after 500 ms; worker \(pid) killed")
            // The stored times agree on the wall clock (ms resolution): started_at is the dispatch, completed_at
            // is recorded after the kill. (Log line timestamps are not used: a line may be written after its event.)
            if let dispatched = job.startedAt, let recorded = job.completedAt {
                #expect(recorded.timeIntervalSince(dispatched) * 1000 >= 499)
            }
            let workers = try supervisor.waitForWorkers(1)
            #expect(!workers.contains(pid))
            if let respawn = supervisor.events("worker_ready").compactMap({ $0["respawn_ms"] as? Double }).first {
                print("respawn after kill: \(String(format: "%.1f", respawn)) ms")
            }
            measuredKillLateness.append(late)
            print("kill lateness: \(String(format: "%.3f", late)) ms (elapsed \(String(format: "%.3f", elapsed)) ms)")
            return late
        }

        @Test func killTimeoutKillsAtTheDeadline() throws {
            for _ in 0..<3 { _ = try killSpinJob() }
        }

        @Test func killTimeoutIsOnTimeWhileAnotherProcessHoldsTheWriteLock() throws {
            _ = try killSpinJob { db in
                // Another connection (own sqlite handle) holds an exclusive lock for 2 s from now.
                let locked = DispatchSemaphore(value: 0)
                let path = db.path
                Thread.detachNewThread {
                    guard let connection = try? SQLiteConnection(path: path, busyTimeoutMs: 5000) else {
                        locked.signal()
                        return
                    }
                    try? connection.exec("BEGIN EXCLUSIVE")
                    locked.signal()
                    usleep(2_000_000)
                    try? connection.exec("COMMIT")
                }
                locked.wait()
            }
            let sorted = measuredKillLateness.sorted()
            if !sorted.isEmpty {
                print(String(format: "kill lateness over %d runs: min %.3f ms, median %.3f ms, max %.3f ms",
                    sorted.count, sorted.first!, sorted[sorted.count / 2], sorted.last!))
            }
        }

        @Test func failTimeoutCancelsAJobThatHonoursCancel() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("sleep", ["ms": 10_000], timeout: 300, behavior: .fail)
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.lastError == "timed out after 300 ms")
            let timeout = try supervisor.waitFor("job_timeout") { $0["job_id"] as? Int == Int(id) }
            #expect(timeout["action"] as? String == "cancel")
            // The worker survived: it answered the cancel.
            #expect(supervisor.events("worker_exited").isEmpty)
        }

        @Test func failTimeoutKillsAJobThatIgnoresCancelAfterTheGrace() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("spin", timeout: 300, behavior: .fail)
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--cancel-grace", "200"])
            let job = try db.waitFor(id, .failed, log: supervisor)
            let error = try #require(job.lastError)
            #expect(error.hasPrefix("timed out after 300 ms; worker ") && error.hasSuffix(" killed after cancel grace"), "\(error)")
            let kill = try supervisor.waitFor("job_timeout") { $0["action"] as? String == "kill_after_grace" }
            let elapsed = try #require(kill["elapsed_ms"] as? Double)
            #expect(elapsed >= 500 && elapsed < 700)
            try supervisor.waitForWorkers(1)
        }

        @Test func warnTimeoutLetsTheJobFinish() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("sleep", ["ms": 500], timeout: 150, behavior: .warn)
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            try db.waitFor(id, .completed, log: supervisor)
            let warnings = supervisor.events("job_timeout") { $0["job_id"] as? Int == Int(id) }
            #expect(warnings.count == 1)
            #expect(warnings.first?["action"] as? String == "warn")
            #expect(supervisor.events("worker_exited").isEmpty)
        }
    }
}
