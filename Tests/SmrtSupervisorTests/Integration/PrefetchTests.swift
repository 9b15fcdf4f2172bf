import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Jobs claimed ahead (`--prefetch`) and held by the supervisor until a worker is free: their deadline
    /// starts at dispatch, they go back uncounted at shutdown, and they are recovered with the supervisor's
    /// running jobs when it dies.
    ///
    /// Each test uses one worker and a first quick job: the supervisor claims only for idle workers until a
    /// worker finishes a job, then claims ahead, so the jobs after the first one are claimed together and all
    /// but one are held while the worker runs the next. That first job counts as short however long a loaded machine
    /// makes it take (`SupervisorProcess.everyJobShort`), except where long jobs are the point.
    @Suite struct Prefetch {
        static let arguments = ["--prefetch", "4"] + SupervisorProcess.everyJobShort

        /// Enqueues the jobs in order of decreasing priority (so they are claimed in this order).
        func enqueue(
            _ db: TestDatabase, maxAttempts: Int = 3,
            _ jobs: [(method: String, args: [String: JSONValue], timeout: Int, behavior: TimeoutBehavior)]
        ) throws -> [Int64] {
            try jobs.enumerated().map { index, job in
                try db.store.enqueue(
                    JobSpec(
                        objectType: "Demo", method: job.method, args: job.args, priority: 100 - index, maxAttempts: maxAttempts,
                        timeout: job.timeout, timeoutBehavior: job.behavior, retryStrategy: .linear(delay: 0)),
                    now: Date()
                ).id
            }
        }

        func startedAt(_ supervisor: SupervisorProcess, _ id: Int64) -> Date? {
            (supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.first?["ts"] as? String)
                .flatMap(Timestamp.parse)
        }

        /// Jobs longer than a few ms are not claimed ahead: held behind them, jobs waited past the poll interval,
        /// went back to pending and were claimed again (1,661 releases in a 10,000-job run before). A backlog of
        /// 60 ms jobs with a 300 ms poll: no release, and every job runs in one attempt.
        @Test func longerJobsAreNotHeldAndNotChurned() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let specs = (0..<60).map { _ in
                    JobSpec(objectType: "Demo", method: "sleep", args: ["ms": 60], retryStrategy: .linear(delay: 0))
                }
                let ids = try db.store.enqueue(batch: specs, now: Date())
                let supervisor = try SupervisorProcess(database: db, workers: 2, arguments: ["--poll-interval", "300"])
                _ = try eventually("60 jobs completed", timeout: 30) { () -> Bool? in
                    try db.store.stats(queue: nil).completed == ids.count ? true : nil
                }
                #expect(supervisor.events("job_released").isEmpty, "released: \(supervisor.events("job_released").count)")
                #expect(try db.store.list(JobQuery(status: .completed, limit: 60)).allSatisfy { $0.attempts == 1 })
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        @Test func heldJobsGoBackUncountedAtShutdown() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let ids = try enqueue(db, [
                    ("noop", [:], 30_000, .fail), ("sleep", ["ms": 800], 30_000, .fail),
                    ("noop", [:], 30_000, .fail), ("noop", [:], 30_000, .fail),
                ])
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: Self.arguments)
                try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(ids[1]) }
                // The jobs after the sleep are claimed ahead in the transaction after the first noop's result, and
                // held (or queued) while the sleep runs: the first of them at least, both while the noop took under
                // 10 ms (about 20 ms of work is held per worker).
                _ = try eventually("the job after the sleep to be claimed ahead", timeout: 0.7) {
                    try db.job(ids[2]).status == .running ? true : nil
                }
                let claimed = try ids[2...].filter { try db.job($0).status == .running }
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
                #expect(try db.job(ids[1]).status == .completed)
                for id in ids[2...] {
                    let job = try db.job(id)
                    #expect(job.status == .pending)
                    #expect(job.attempts == 0)
                    #expect(job.workerId == nil && job.startedAt == nil)
                    let released = !supervisor.events("job_released") { $0["job_id"] as? Int == Int(id) }.isEmpty
                    #expect(released == claimed.contains(id), "job \(id): claimed ahead \(claimed), released \(released)")
                    #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.isEmpty)
                }
            }
        }

        @Test func aHeldJobsKillDeadlineStartsAtItsDispatch() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let ids = try enqueue(db, maxAttempts: 1, [
                    ("noop", [:], 30_000, .fail), ("sleep", ["ms": 700], 30_000, .fail), ("spin", [:], 300, .kill),
                ])
                let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: Self.arguments)
                let kill = try supervisor.waitFor("job_timeout", timeout: 10) { $0["job_id"] as? Int == Int(ids[2]) }
                let elapsed = try #require(kill["elapsed_ms"] as? Double)
                #expect(elapsed >= 300 && elapsed < 400, "killed \(elapsed) ms after its dispatch")
                // It was held while the sleep ran, and dispatched after it.
                let sleepStart = try #require(startedAt(supervisor, ids[1]))
                let spinStart = try #require(startedAt(supervisor, ids[2]))
                #expect(spinStart.timeIntervalSince(sleepStart) >= 0.65)
                let spin = try db.waitFor(ids[2], .failed, log: supervisor)
                // started_at was rewritten to the dispatch when the failed attempt was recorded.
                let sleep = try db.waitFor(ids[1], .completed, log: supervisor)
                let stored = try #require(spin.startedAt), sleepStored = try #require(sleep.startedAt)
                #expect(stored.timeIntervalSince(sleepStored) >= 0.65)
                #expect(spin.attempts == 1)
            }
        }

        @Test func heldJobsOfAKilledSupervisorAreRecoveredLikeRunningOnes() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let ids = try enqueue(db, [
                    ("noop", [:], 30_000, .fail), ("sleep", ["ms": 1500], 30_000, .fail), ("noop", [:], 30_000, .fail),
                ])
                let first = try SupervisorProcess(
                    database: db, workers: 1, arguments: Self.arguments, logName: "first.log")
                try first.waitFor("job_started") { $0["job_id"] as? Int == Int(ids[1]) }
                // The last job is claimed ahead while the first one runs, so the sleep starts from the held jobs before
                // the first result is committed (group commit): wait for that commit too, or the first job is running
                // under the killed lease and recovered with the others.
                let what = "the first job's result to be committed and the last job to be claimed ahead"
                _ = try eventually(what, timeout: 1.4) {
                    try db.job(ids[0]).status == .completed && db.job(ids[2]).status == .running ? true : nil
                }
                first.signal(SIGKILL)
                try first.waitForExit()

                let second = try SupervisorProcess(database: db, workers: 1, logName: "second.log")
                let recovered = try second.waitFor("lease_recovered")
                #expect(Set(recovered["job_ids"] as? [Int] ?? []) == [Int(ids[1]), Int(ids[2])])
                for id in ids[1...] {
                    let job = try db.waitFor(id, .completed, log: second)
                    #expect(job.attempts == 2)
                }
            }
        }
    }
}
