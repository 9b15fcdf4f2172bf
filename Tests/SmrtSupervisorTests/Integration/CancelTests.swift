import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

extension IntegrationTests {
    /// `smrt-jobs cancel` of a running job stops the work: at its next heartbeat the supervisor sends CANCEL; a job
    /// that stops answers and its worker lives on, one that does not is killed after `--cancel-grace`. Either way
    /// the job stays cancelled: the attempt is not recorded over it.
    @Suite struct Cancel {
        @Test func cancellingARunningJobSendsCancelAndTheWorkerLivesOn() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let id = try db.enqueue("sleep", ["ms": 60_000], timeout: 120_000, behavior: .kill)
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, arguments: ["--heartbeat-interval", "200", "--cancel-grace", "5000"])
                let started = try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
                let pid = try #require(started["worker_pid"] as? Int)
                _ = try db.store.cancel(id: id, now: Date())
                let cancel = try supervisor.waitFor("job_cancelled", timeout: 5) { $0["job_id"] as? Int == Int(id) }
                #expect(cancel["action"] as? String == "cancel")
                #expect(cancel["worker_pid"] as? Int == pid)
                // The job's task was cancelled and answered; its result is dropped (the job is no longer ours).
                try supervisor.waitFor("job_not_owned", timeout: 5) { $0["job_id"] as? Int == Int(id) }
                // The same worker takes the next job, well within the grace: it was never killed.
                let next = try db.enqueue("noop")
                let nextStart = try supervisor.waitFor("job_started", timeout: 5) { $0["job_id"] as? Int == Int(next) }
                #expect(nextStart["worker_pid"] as? Int == pid)
                try db.waitFor(next, .completed, log: supervisor)
                #expect(supervisor.events("job_cancelled").count == 1, "no kill after the grace")
                #expect(supervisor.events("worker_exited").isEmpty)
                let job = try db.job(id)
                #expect(job.status == .cancelled)
                #expect(job.attempts == 1)
            }
        }

        @Test func aCancelledJobThatIgnoresCancelIsKilledAfterTheGrace() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let pidFile = db.file("spin.pid")
                let id = try db.enqueue("spin", ["pidFile": .string(pidFile)], timeout: 60_000, behavior: .kill)
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, arguments: ["--heartbeat-interval", "200", "--cancel-grace", "300"])
                try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
                let pid: Int32 = try eventually("the spin job's pid file") {
                    (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                        Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                }
                _ = try db.store.cancel(id: id, now: Date())
                let cancel = try supervisor.waitFor("job_cancelled", timeout: 5) {
                    $0["job_id"] as? Int == Int(id) && $0["action"] as? String == "cancel"
                }
                #expect(cancel["worker_pid"] as? Int == Int(pid))
                let kill = try supervisor.waitFor("job_cancelled", timeout: 5) {
                    $0["job_id"] as? Int == Int(id) && $0["action"] as? String == "kill_after_grace"
                }
                let sent = try #require(Timestamp.parse(cancel["ts"] as? String ?? ""))
                let killed = try #require(Timestamp.parse(kill["ts"] as? String ?? ""))
                let graceMs = killed.timeIntervalSince(sent) * 1000
                // The lines are stamped when they are logged, which a loaded loop does a few ms after the CANCEL it
                // sent arms the grace timer (288 ms was seen at a load of 6): the kill is never before the grace.
                #expect(graceMs >= 250 && graceMs < 2000, "killed \(graceMs) ms after CANCEL")
                _ = try eventually("worker \(pid) to be gone", timeout: 2) { processIsAlive(pid) ? nil : true }
                let workers = try supervisor.waitForWorkers(1)
                #expect(!workers.contains(pid))
                // The job stays cancelled: the dead worker's attempt is not recorded over it.
                let job = try db.job(id)
                #expect(job.status == .cancelled)
                #expect(job.attempts == 1)
            }
        }
    }
}
