import Foundation
import SmrtJobs
import Testing

extension IntegrationTests {
    /// `smrt-jobs cancel` of a running job stops the work: the supervisor notices at its next heartbeat and
    /// kills the worker, instead of letting it finish a job whose result would be dropped.
    @Suite struct Cancel {
        @Test func cancellingARunningJobKillsItsWorker() throws {
            let db = try TestDatabase()
            let pidFile = db.file("spin.pid")
            let id = try db.enqueue("spin", ["pidFile": .string(pidFile)], timeout: 60_000, behavior: .kill)
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, arguments: ["--heartbeat-interval", "200"])
            try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            let pid: Int32 = try eventually("the spin job's pid file") {
                (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                    Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            _ = try db.store.cancel(id: id, now: Date())
            let stopped = try supervisor.waitFor("job_cancelled", timeout: 5) { $0["job_id"] as? Int == Int(id) }
            #expect(stopped["worker_pid"] as? Int == Int(pid))
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
