import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Pipelining (protocol 4, `--pipeline`): while jobs are short, a worker gets its next RUN while it runs a job and
    /// says STARTED as it begins each. Each job's deadline counts from its STARTED; a worker's end puts the jobs it
    /// had not said STARTED for back to pending without counting an attempt.
    ///
    /// Most tests use one worker and a first quick job: after it the supervisor claims ahead, and of the jobs claimed
    /// together the first goes to the worker and the second is queued behind it (`job_queued`, logged with --debug).
    /// They run the supervisor with `arguments`, so that the first job counts as short however long a loaded machine
    /// makes it take (`SupervisorProcess.everyJobShort`).
    @Suite struct Pipeline {
        static let arguments = ["--debug"] + SupervisorProcess.everyJobShort

        func queued(_ supervisor: SupervisorProcess, _ id: Int64) -> Bool {
            !supervisor.events("job_queued") { $0["job_id"] as? Int == Int(id) }.isEmpty
        }

        /// Waits for the line of job `id`'s completion. Log lines are written by a thread of their own, so on a loaded
        /// machine they can lag behind the database: a test that saw the job completed there waits for this before it
        /// reads the job's lines.
        func waitForCompletedLine(_ supervisor: SupervisorProcess, _ id: Int64) throws {
            try supervisor.waitFor("job_completed") { $0["job_id"] as? Int == Int(id) }
        }

        func startedAt(_ supervisor: SupervisorProcess, _ id: Int64) -> Date? {
            (supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.first?["ts"] as? String)
                .flatMap(Timestamp.parse)
        }

        /// 300 noops on 2 workers: each completes in one attempt, starts once, nothing is released or broken; with
        /// the default `--pipeline` (2) RUNs were queued, with `--pipeline 1` none.
        @Test(arguments: [2, 1])
        func pipelinedShortJobsAllCompleteOnce(_ depth: Int) async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let specs = (0..<300).map { _ in JobSpec(objectType: "Demo", method: "noop", maxAttempts: 1) }
                let ids = try db.store.enqueue(batch: specs, now: Date())
                let supervisor = try SupervisorProcess(
                    database: db, workers: 2, arguments: Self.arguments + ["--pipeline", String(depth)])
                _ = try eventually("300 jobs completed", timeout: 60, context: { supervisor.logTail() }) { () -> Bool? in
                    try db.store.stats(queue: nil).completed == ids.count ? true : nil
                }
                try supervisor.waitFor("job_completed", count: ids.count)
                #expect(try db.store.list(JobQuery(status: .completed, limit: 300)).allSatisfy { $0.attempts == 1 })
                let started = supervisor.events("job_started").compactMap { $0["job_id"] as? Int }
                #expect(started.count == 300 && Set(started).count == 300, "each job started once")
                #expect(supervisor.events("job_released").isEmpty)
                #expect(supervisor.events("protocol_error").isEmpty)
                let queuedRuns = supervisor.events("job_queued").count
                if depth == 1 {
                    #expect(queuedRuns == 0)
                } else {
                    #expect(queuedRuns > 0, "no RUN was queued behind a running job")
                }
                print("--pipeline \(depth): 300 noops, \(queuedRuns) RUN(s) queued behind a running job")
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// `--short-job-threshold` reaches the claim planner: jobs of 100 ms are never short by default (50 ms), so
        /// none is queued behind another; with 10 s they are: after the first one, the next three are claimed together,
        /// one runs and the one after it is queued.
        @Test(arguments: [false, true])
        func theShortJobThresholdDecidesWhatIsQueued(_ raised: Bool) async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let ids = try (0..<4).map { _ in try db.enqueue("sleep", ["ms": 100]) }
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, arguments: raised ? Self.arguments : ["--debug"])
                for id in ids { try db.waitFor(id, .completed, log: supervisor) }
                try waitForCompletedLine(supervisor, ids[3])
                let queuedRuns = supervisor.events("job_queued").count
                if raised {
                    #expect(queued(supervisor, ids[2]), "\(queuedRuns) RUN(s) queued")
                } else {
                    #expect(queuedRuns == 0)
                }
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// A job queued behind a 200 ms job with a 300 ms `kill` timeout of its own, that takes 150 ms: counted from
        /// its RUN it would be killed at 300 ms; counted from its STARTED it completes.
        @Test func aQueuedJobsDeadlineCountsFromItsStarted() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                try db.enqueue("noop")
                let first = try db.enqueue("sleep", ["ms": 200])
                let queuedJob = try db.enqueue("sleep", ["ms": 150], timeout: 300, behavior: .kill)
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: Self.arguments)
                let job = try db.waitFor(queuedJob, .completed, log: supervisor)
                try waitForCompletedLine(supervisor, queuedJob)
                #expect(job.attempts == 1)
                #expect(queued(supervisor, queuedJob), "it was queued behind job \(first)")
                #expect(supervisor.events("job_timeout").isEmpty)
                let firstStart = try #require(startedAt(supervisor, first))
                let queuedStart = try #require(startedAt(supervisor, queuedJob))
                #expect(queuedStart.timeIntervalSince(firstStart) >= 0.19, "it started when the 200 ms job had answered")
                // started_at is the STARTED's arrival too.
                let stored = try #require(job.startedAt)
                let firstStored = try #require(try db.job(first).startedAt)
                #expect(stored.timeIntervalSince(firstStored) >= 0.19)
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// The running job's timeout kill: the job queued behind it never started, so it goes back to pending with its
        /// attempt not counted, and runs on the replacement worker in its one attempt.
        @Test func aTimeoutKillReturnsTheQueuedJobUncounted() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                try db.enqueue("noop")
                let spin = try db.enqueue("spin", timeout: 300, behavior: .kill)
                let behind = try db.enqueue("noop")
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: Self.arguments)
                let failed = try db.waitFor(spin, .failed, log: supervisor)
                #expect(failed.attempts == 1)
                #expect(failed.lastError?.contains("timed out after 300 ms") == true, "\(failed.lastError ?? "-")")
                let job = try db.waitFor(behind, .completed, log: supervisor)
                try waitForCompletedLine(supervisor, behind)
                #expect(job.attempts == 1, "the kill did not count an attempt of the job queued behind")
                #expect(queued(supervisor, behind), "\(supervisor.logTail(60))")
                let released = try supervisor.waitFor("job_released") { $0["job_id"] as? Int == Int(behind) }
                #expect((released["reason"] as? String)?.contains("no STARTED") == true, "\(released)")
                #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(behind) }.count == 1)
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// A crash of the running job: likewise. It crashes 200 ms after its RUN: on a loaded machine a job that crashes
        /// at once can be dead before the RUN behind it is written (the supervisor's loop preempted between the two
        /// writes), and then nothing was queued.
        @Test func aCrashReturnsTheQueuedJobUncounted() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                try db.enqueue("noop")
                let crash = try db.enqueue("crash", ["signal": "SEGV", "afterMs": 200])
                let behind = try db.enqueue("noop")
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: Self.arguments)
                let failed = try db.waitFor(crash, .failed, log: supervisor)
                #expect(failed.attempts == 1)
                #expect(failed.lastError?.contains("SIGSEGV") == true, "\(failed.lastError ?? "-")")
                let job = try db.waitFor(behind, .completed, log: supervisor)
                try waitForCompletedLine(supervisor, behind)
                #expect(job.attempts == 1)
                #expect(queued(supervisor, behind), "\(supervisor.logTail(60))")
                #expect(!supervisor.events("job_released") { $0["job_id"] as? Int == Int(behind) }.isEmpty)
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// TERM while a job runs with another queued behind it: the running one finishes, the queued one (the worker
        /// got SHUTDOWN and never started it) and the held ones go back to pending uncounted.
        @Test func shutdownReleasesQueuedJobsUncounted() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                try db.enqueue("noop")
                let sleep = try db.enqueue("sleep", ["ms": 600])
                let rest = try (0..<3).map { _ in try db.enqueue("noop") }
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: Self.arguments)
                try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(sleep) }
                try supervisor.waitFor("job_queued") { $0["job_id"] as? Int == Int(rest[0]) }
                // Which of the rest were claimed ahead with it depends on how long the first noop took (about 20 ms of
                // work is held per worker): those go back to pending uncounted; the others were never claimed.
                let claimed = try rest.filter { try db.job($0).status == .running }
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
                #expect(try db.job(sleep).status == .completed)
                #expect(claimed.first == rest[0])
                for id in rest {
                    let job = try db.job(id)
                    #expect(job.status == .pending && job.attempts == 0, "job \(id): \(job.status), \(job.attempts) attempts")
                    #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.isEmpty)
                    let released = !supervisor.events("job_released") { $0["job_id"] as? Int == Int(id) }.isEmpty
                    #expect(released == claimed.contains(id), "job \(id): claimed ahead \(claimed), released \(released)")
                }
            }
        }

        /// `smrt-jobs cancel` of a job queued behind a running one: CANCEL at the next heartbeat, the worker drops it
        /// and answers without STARTED; it stays cancelled, never starts, and the running job and the worker go on.
        @Test func aCancelledQueuedJobNeverStarts() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                try db.enqueue("noop")
                let sleep = try db.enqueue("sleep", ["ms": 1500])
                let behind = try db.enqueue("noop")
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, arguments: Self.arguments + ["--heartbeat-interval", "100"])
                try supervisor.waitFor("job_queued") { $0["job_id"] as? Int == Int(behind) }
                _ = try db.store.cancel(id: behind, now: Date())
                let cancelled = try supervisor.waitFor("job_cancelled") { $0["job_id"] as? Int == Int(behind) }
                #expect(cancelled["action"] as? String == "cancel")
                try supervisor.waitFor("job_not_owned") { $0["job_id"] as? Int == Int(behind) }
                #expect(try db.waitFor(sleep, .completed, log: supervisor).attempts == 1)
                #expect(try db.job(behind).status == .cancelled)
                #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(behind) }.isEmpty)
                #expect(supervisor.events("protocol_error").isEmpty && supervisor.events("worker_exited").isEmpty)
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// A worker of protocol 4 that answers a RUN without saying STARTED breaks the protocol: the error names the
        /// job, whose attempt counts (the worker did something with it).
        @Test func aResultWithoutStartedIsAProtocolError() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let id = try db.enqueue("echo", ["n": 1], type: "PyDemo", maxAttempts: 1)
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, workerExec: "python3 \(WorkerHarness.scriptedWorkerPath) no-started")
                let job = try db.waitFor(id, .failed, log: supervisor)
                #expect(job.attempts == 1)
                let error = try supervisor.waitFor("protocol_error")
                #expect(error["reason"] as? String == "result for job \(id), which it had not started (no STARTED)")
                #expect(error["job_id"] as? Int == Int(id))
                #expect(job.lastError?.hasPrefix("protocol error: result for job \(id), which it had not started") == true)
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }
    }
}
