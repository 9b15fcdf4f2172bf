import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Signals, shutdown, worker death with the supervisor, recycling, rolling restarts and start back-off.
    @Suite struct Lifecycle {
        @Test func workersDieWithAKilledSupervisorAndARestartFinishesTheOrphanedJob() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("sleep", ["ms": 800], maxAttempts: 3, retry: .linear(delay: 0))
            let first = try SupervisorProcess(database: db, logName: "first.log")
            let workers = try first.waitForWorkers(2)
            try first.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            first.signal(SIGKILL)
            try first.waitForExit()
            _ = try eventually("every worker to be gone", timeout: 2) { workers.contains(where: processIsAlive) ? nil : true }
            #expect(try db.job(id).status == .running)

            let second = try SupervisorProcess(database: db, logName: "second.log")
            let recovered = try second.waitFor("lease_recovered")
            #expect((recovered["job_ids"] as? [Int]) == [Int(id)])
            let job = try db.waitFor(id, .completed, log: second)
            #expect(job.attempts == 2)
            #expect(try db.store.listWorkers().count == 1)
        }

        /// A TERM that comes while the supervisor is still starting (options parsed, database not yet open) waits for
        /// its handlers: a graceful stop, exit 0, not death by the default action (143).
        @Test func termDuringStartUpIsAGracefulStop() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db)
            // As soon as the main thread holds SIGTERM back (its first statement), before the loop exists.
            _ = try eventually("the supervisor to hold SIGTERM back", timeout: 10) { () -> Bool? in
                guard let status = try? String(contentsOfFile: "/proc/\(supervisor.pid)/status", encoding: .utf8),
                    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }),
                    let mask = UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
                else { return nil }
                return mask & (1 << (UInt64(SIGTERM) - 1)) != 0 ? true : nil
            }
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
            #expect(!supervisor.events("signal").isEmpty, "\(supervisor.logTail())")
        }

        @Test func termLetsARunningJobFinishAndExitsZero() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("sleep", ["ms": 600])
            let supervisor = try SupervisorProcess(database: db)
            try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
            #expect(try db.job(id).status == .completed)
            #expect(try db.store.listWorkers().isEmpty)
            #expect(!supervisor.events("supervisor_stopped").isEmpty)
            #expect(supervisor.events("handle_leak").isEmpty)
        }

        @Test func termReleasesJobsStillRunningAtTheShutdownTimeout() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("spin")
            let supervisor = try SupervisorProcess(database: db, arguments: ["--shutdown-timeout", "300"])
            try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
            let job = try db.job(id)
            #expect(job.status == .pending)
            #expect(job.attempts == 0)
            #expect(!supervisor.events("shutdown_timeout").isEmpty)
        }

        @Test func quitReleasesARunningJobWithItsAttemptUncounted() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("spin")
            let supervisor = try SupervisorProcess(database: db)
            try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            let workers = supervisor.liveWorkerPids()
            supervisor.signal(SIGQUIT)
            #expect(try supervisor.waitForExit() == .exited(0))
            let job = try db.job(id)
            #expect(job.status == .pending)
            #expect(job.attempts == 0)
            #expect(job.workerId == nil)
            #expect(!workers.contains(where: processIsAlive))
            #expect(!supervisor.events("job_released") { $0["job_id"] as? Int == Int(id) }.isEmpty)
            #expect(supervisor.events("handle_leak").isEmpty)
        }

        @Test func ttinAndTtouChangeTheWorkerCount() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db)
            try supervisor.waitForWorkers(2)
            supervisor.signal(SIGTTIN)
            try supervisor.waitForWorkers(3)
            // One at a time: two signals sent back to back may coalesce into one delivery.
            supervisor.signal(SIGTTOU)
            try supervisor.waitForWorkers(2)
            supervisor.signal(SIGTTOU)
            try supervisor.waitForWorkers(1)
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        @Test func hupReplacesEveryWorker() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db)
            let before = try supervisor.waitForWorkers(2)
            supervisor.signal(SIGHUP)
            try supervisor.waitFor("rolling_restart_done")
            let after = try supervisor.waitForWorkers(2)
            #expect(after.isDisjoint(with: before))
            // Jobs still run afterwards.
            let id = try db.enqueue("noop")
            try db.waitFor(id, .completed, log: supervisor)
        }

        @Test func maxJobsPerWorkerRecyclesWorkers() throws {
            let db = try TestDatabase()
            let ids = try (0..<6).map { _ in try db.enqueue("noop") }
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--max-jobs-per-worker", "2"])
            for id in ids { try db.waitFor(id, .completed, log: supervisor) }
            try supervisor.waitFor("worker_recycled", count: 3)
            let pids = Set(supervisor.events("job_started").compactMap { $0["worker_pid"] as? Int })
            #expect(pids.count == 3)
            try supervisor.waitForWorkers(1)
        }

        @Test func maxWorkerRSSRecyclesBetweenJobs() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("noop")
            // Any worker process is above 1 MB resident (the demo's `allocate` frees its memory again).
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--max-worker-rss", "1"])
            try db.waitFor(id, .completed, log: supervisor)
            let recycled = try supervisor.waitFor("worker_recycled")
            #expect((recycled["reason"] as? String)?.contains("RSS") == true)
            try supervisor.waitForWorkers(1)
        }

        @Test func workersDyingBeforeReadyAreRestartedWithBackoff() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: "sh -c 'exit 7'")
            let restarts = try supervisor.waitFor("worker_restarting", count: 4, timeout: 5)
            let delays = restarts.prefix(4).compactMap { $0["backoff_ms"] as? Int }
            #expect(delays == [100, 200, 400, 800])
            // Not a hot loop: about 1.5 s of back-off for 4 restarts.
            #expect(supervisor.events("worker_spawned").count <= 6)
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        @Test func aWorkerThatNeverSaysHelloIsKilledAfterTheStartTimeout() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, workerExec: "sleep 30", arguments: ["--worker-start-timeout", "200"])
            let timeout = try supervisor.waitFor("worker_start_timeout")
            let pid = try #require(timeout["worker_pid"] as? Int)
            _ = try eventually("the silent worker to be gone", timeout: 2) { processIsAlive(Int32(pid)) ? nil : true }
            try supervisor.waitFor("worker_restarting")
            supervisor.signal(SIGINT)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        @Test func aMissingWorkerProgramIsAClearStartupError() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db, workerExec: "/nonexistent/worker")
            #expect(try supervisor.waitForExit() == .exited(1))
            #expect(supervisor.logText.contains("cannot start worker '/nonexistent/worker'"))
        }
    }
}
