import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Broken workers are contained: a protocol violation kills that worker, fails the job it held with the
    /// violation, and the supervisor goes on.
    @Suite struct Containment {
        /// A worker in Python that says HELLO, then misbehaves on its first RUN as `mode` says.
        private func misbehavingWorker(_ db: TestDatabase, mode: String) throws -> String {
            let script = db.file("bad_worker.py")
            try """
                import os, struct, sys, time
                mode = sys.argv[1]
                def hello():
                    os.write(3, struct.pack(">IBHII", 11, 1, 1, os.getpid(), 0))
                hello()
                if mode == "hello-twice":
                    hello()
                    time.sleep(30)
                run = os.read(3, 65536)
                if mode == "garbage":
                    os.write(3, b"\\x00\\x00\\x00\\x01\\x7f")
                elif mode == "wrong-job":
                    os.write(3, struct.pack(">IBQB", 10, 5, 999999, 0))
                elif mode == "bad-result":
                    text = b"not json"
                    body = struct.pack(">BQBI", 5, struct.unpack(">Q", run[5:13])[0], 1, len(text)) + text
                    os.write(3, struct.pack(">I", len(body)) + body)
                time.sleep(30)
                """.write(toFile: script, atomically: true, encoding: .utf8)
            return "python3 \(script) \(mode)"
        }

        @Test func garbageBeforeHelloIsContained() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, workerExec: "sh -c 'printf garbage! >&3; exec sleep 30'")
            let error = try supervisor.waitFor("protocol_error")
            #expect((error["reason"] as? String)?.contains("exceeds the limit") == true)
            #expect(supervisor.logText.contains("protocol error: frame of"))
            // Restarted with back-off, and the supervisor is alive and stops cleanly.
            try supervisor.waitFor("worker_restarting")
            #expect(supervisor.isRunning)
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        @Test(arguments: [
            ("garbage", "protocol error: unknown message type 0x7F"),
            ("wrong-job", "protocol error: result for job 999999, which it was not given"),
        ])
        func violationDuringAJobFailsThatJob(mode: String, expected: String) throws {
            let db = try TestDatabase()
            let id = try db.enqueue("echo", ["a": 1])
            let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: try misbehavingWorker(db, mode: mode))
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.lastError?.hasPrefix(expected) == true, "\(job.lastError ?? "nil")")
            try supervisor.waitFor("protocol_error") { $0["job_id"] as? Int == Int(id) }
            // A replacement came up; the supervisor is fine.
            try supervisor.waitFor("worker_ready", count: 2)
            #expect(supervisor.isRunning)
        }

        /// RESULT_OK whose result is not JSON is a violation naming the job, never a result: stored as a string it
        /// would pass for one. The job fails for good: its work was done, and another attempt would answer the same.
        @Test func aResultThatIsNotJSONFailsTheJobForGood() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let id = try db.enqueue("echo", ["a": 1], maxAttempts: 3)
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, workerExec: try misbehavingWorker(db, mode: "bad-result"))
                let job = try db.waitFor(id, .failed, log: supervisor)
                let expected = "protocol error: RESULT_OK for job \(id): result is not valid JSON: unexpected 'n' at byte 0"
                #expect(job.lastError?.hasPrefix(expected) == true, "\(job.lastError ?? "nil")")
                #expect(job.attempts == 1, "not retried")
                #expect(job.result == nil)
                #expect(job.workerExit == "killed for a protocol error")
                try supervisor.waitFor("protocol_error") { $0["job_id"] as? Int == Int(id) }
                try supervisor.waitFor("worker_ready", count: 2)
            }
        }

        @Test func helloTwiceIsAViolation() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, workerExec: try misbehavingWorker(db, mode: "hello-twice"))
            let error = try supervisor.waitFor("protocol_error")
            #expect(error["reason"] as? String == "HELLO sent twice")
            #expect(supervisor.isRunning)
        }

        @Test func pythonWorkerRunsAJob() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("echo", ["greeting": "hi"], type: "PyDemo")
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, workerExec: "python3 \(WorkerHarness.pythonWorkerPath)")
            let job = try db.waitFor(id, .completed, log: supervisor)
            #expect(job.result == ["greeting": "hi"])
        }
    }

    /// Leases and schedules: jobs of dead supervisors come back; cron schedules fire from the supervisor.
    @Suite struct LeasesAndSchedules {
        @Test func expiredLeaseJobsAreTakenBackWithinTheTTL() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("noop", maxAttempts: 3)
            // A supervisor on another host that claimed the job and then went silent.
            let owner = "elsewhere:4242:deadbeef"
            let lastBeat = Date()
            try db.store.registerWorker(WorkerRecord(id: owner, pid: 4242, host: "elsewhere", startedAt: lastBeat, heartbeat: lastBeat))
            #expect(try db.store.claim(workerId: owner, limit: 1, queues: nil, now: lastBeat).map(\.id) == [id])

            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--lease-ttl", "1000"])
            let recovered = try supervisor.waitFor("lease_recovered", timeout: 5)
            #expect(recovered["lease_id"] as? String == owner)
            let after = Date().timeIntervalSince(lastBeat)
            #expect(after >= 1.0 && after < 2.0, "taken back \(after) s after the last heartbeat")
            let job = try db.waitFor(id, .completed, log: supervisor)
            #expect(job.attempts == 2)
            #expect(try db.store.listWorkers().map(\.id) != [owner])
        }

        @Test func cronScheduleFiresAndItsCountersAreUpdated() throws {
            let db = try TestDatabase()
            let schedule = try db.store.createSchedule(
                AgentScheduleSpec(agentType: "Demo", cron: "* * * * *", method: "echo", methodArgs: ["from": "cron"]),
                nextRun: Date().addingTimeInterval(-1), status: .active, lastError: nil, now: Date())
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let fired = try supervisor.waitFor("schedule_fired") { $0["schedule_id"] as? Int == Int(schedule.id) }
            let jobId = Int64(try #require(fired["job_id"] as? Int))
            let job = try db.waitFor(jobId, .completed, log: supervisor)
            #expect(job.queue == "agents")
            #expect(job.scheduleId == schedule.id)
            let updated = try eventually("the schedule's counters") { () -> AgentSchedule? in
                guard let s = try db.store.getSchedule(id: schedule.id), s.runCount == 1 else { return nil }
                return s
            }
            #expect(updated.successCount == 1)
            #expect(updated.runningCount == 0)
            #expect(updated.lastStatus == .success)
            #expect((updated.nextRun ?? .distantPast) > Date())
        }
    }
}
