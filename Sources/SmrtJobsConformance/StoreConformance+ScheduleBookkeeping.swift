import Foundation
import SmrtJobs
import Testing

/// A job fired by a schedule is counted on it when it ends for good, by the store, in the transaction that
/// ends it: completed or failed by `finish`, cancelled, or failed for good by a recovery. Retries and refused
/// reports count nothing; a schedule deleted meanwhile never makes the job's end fail.
extension StoreConformance {
    static let scheduleBookkeepingChecks: [ConformanceCheck] = [
        ConformanceCheck("finishCountsJobsThatEndOnTheirSchedule", finishCountsJobsThatEndOnTheirSchedule),
        ConformanceCheck("finishThenClaimCountsJobsThatEnd", finishThenClaimCountsJobsThatEnd),
        ConformanceCheck("cancelCountsAScheduledJobThatNeverEnded", cancelCountsAScheduledJobThatNeverEnded),
        ConformanceCheck("recoveryCountsScheduledJobsFailedForGood", recoveryCountsScheduledJobsFailedForGood),
        ConformanceCheck("aDeletedScheduleNeverFailsTheEndOfItsJob", aDeletedScheduleNeverFailsTheEndOfItsJob),
    ]

    /// A schedule that may run `maxConcurrent` jobs at once, and `count` jobs it fired (slots a minute apart).
    static func fired(
        _ store: StoreFactory.Store, count: Int, maxConcurrent: Int = 10, maxAttempts: Int = 3
    ) throws -> (schedule: AgentSchedule, jobIds: [Int64]) {
        let schedule = try store.createSchedule(
            scheduleSpec(maxConcurrent: maxConcurrent), nextRun: t0, status: .active, lastError: nil, now: t0)
        var job = ScheduleRunner.jobSpec(for: schedule)
        job.maxAttempts = maxAttempts
        let jobIds = try (0..<count).map { slot in
            let at = t0 + Double(60 * slot)
            return try #require(try store.fire(scheduleId: schedule.id, slot: at, nextRun: at + 60, job: job, now: at))
        }
        let fired = try #require(try store.getSchedule(id: schedule.id))
        #expect(fired.runningCount == count && fired.runCount == 0)
        return (fired, jobIds)
    }

    static func finishCountsJobsThatEndOnTheirSchedule(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let (schedule, ids) = try fired(store, count: 4, maxAttempts: 2)
            let plain = try store.enqueue(spec(queue: ScheduleRunner.queue), now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0 + 300).count == 5)
            func counters() throws -> AgentSchedule { try #require(try store.getSchedule(id: schedule.id)) }

            // Completed: one successful run, its slot freed.
            #expect(try store.complete(id: ids[0], workerId: "w", result: 1, now: t0 + 301) == .completed)
            var s = try counters()
            #expect(s.runningCount == 3 && s.runCount == 1 && s.successCount == 1 && s.failureCount == 0)
            #expect(s.lastStatus == .success && s.lastError == nil && s.lastRun == t0 + 301 && s.updatedAt == t0 + 301)

            // Retrying, a report of another worker, a second report of the completed job and a job no schedule
            // fired: nothing to count.
            #expect(try store.fail(id: ids[1], workerId: "w", error: "again", retryAt: t0 + 400, now: t0 + 302) == .retrying(at: t0 + 400))
            #expect(try store.complete(id: ids[2], workerId: "other", now: t0 + 303) == .notOwned)
            #expect(try store.complete(id: ids[0], workerId: "w", now: t0 + 303) == .notOwned)
            #expect(try store.complete(id: plain.id, workerId: "w", now: t0 + 303) == .completed)
            #expect(try counters() == s)

            // Failed for good (no retry time): one failed run with the attempt's error.
            #expect(try store.fail(id: ids[2], workerId: "w", error: "boom", retryAt: nil, now: t0 + 304) == .failed)
            s = try counters()
            #expect(s.runningCount == 2 && s.runCount == 2 && s.successCount == 1 && s.failureCount == 1)
            #expect(s.lastStatus == .failed && s.lastError == "boom" && s.lastRun == t0 + 304)

            // Failed with its attempts used up, whatever the retry time says.
            #expect(try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 400).map(\.id) == [ids[1]])
            #expect(try store.fail(id: ids[1], workerId: "w", error: "last", retryAt: t0 + 500, now: t0 + 401) == .failed)
            s = try counters()
            #expect(s.runningCount == 1 && s.runCount == 3 && s.failureCount == 2 && s.lastError == "last")

            // A success clears the last error.
            #expect(try store.complete(id: ids[3], workerId: "w", now: t0 + 402) == .completed)
            s = try counters()
            #expect(s.runningCount == 0 && s.runCount == 4 && s.successCount == 2 && s.failureCount == 2)
            #expect(s.lastStatus == .success && s.lastError == nil)
        }
    }

    static func finishThenClaimCountsJobsThatEnd(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let (schedule, ids) = try fired(store, count: 3)
            _ = try store.claim(workerId: "w", limit: 2, queues: nil, now: t0 + 200)
            let done = try store.finish(
                [
                    AttemptReport(jobId: ids[0], outcome: .completed(result: nil)),
                    AttemptReport(jobId: ids[1], outcome: .failed(error: "no", retryAt: nil)),
                ], workerId: "w", now: t0 + 201, thenClaim: 5, queues: nil)
            #expect(done.finished == [.completed, .failed])
            #expect(done.claimed.map(\.id) == [ids[2]])
            let s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 1 && s.runCount == 2 && s.successCount == 1 && s.failureCount == 1)
            #expect(s.lastStatus == .failed && s.lastError == "no" && s.lastRun == t0 + 201)
        }
    }

    static func cancelCountsAScheduledJobThatNeverEnded(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let (schedule, ids) = try fired(store, count: 3, maxAttempts: 1)
            _ = try store.claim(workerId: "w", limit: 2, queues: nil, now: t0 + 200)
            // Running and pending jobs hold a slot until cancelled.
            _ = try store.cancel(id: ids[0], now: t0 + 201)
            _ = try store.cancel(id: ids[2], now: t0 + 202)
            var s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 1 && s.runCount == 2 && s.failureCount == 2)
            #expect(s.lastStatus == .failed && s.lastError == "cancelled" && s.lastRun == t0 + 202)
            // A failed job was counted when it failed; cancelling it counts nothing more.
            #expect(try store.fail(id: ids[1], workerId: "w", error: "boom", retryAt: nil, now: t0 + 203) == .failed)
            s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 0 && s.runCount == 3 && s.failureCount == 3)
            _ = try store.cancel(id: ids[1], now: t0 + 204)
            #expect(try store.getSchedule(id: schedule.id) == s)
        }
    }

    static func recoveryCountsScheduledJobsFailedForGood(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let (schedule, ids) = try fired(store, count: 4)
            _ = try store.claim(workerId: "dead", limit: 2, queues: nil, now: t0 + 200)
            _ = try store.claim(workerId: "stale", limit: 2, queues: nil, now: t0 + 200)
            // One retried (nothing to count), one failed for good.
            let byOwner = try store.recoverJobs(ofDeadOwner: "dead", leaseAsJudged: .noRow, reason: "owner died", now: t0 + 300) { job in
                job.id == ids[0] ? t0 + 400 : nil
            }
            #expect(byOwner?.map(\.result) == [.retrying(at: t0 + 400), .failed])
            var s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 3 && s.runCount == 1 && s.failureCount == 1)
            #expect(s.lastStatus == .failed && s.lastError == "owner died" && s.lastRun == t0 + 300)
            // By stale heartbeat: both failed for good.
            let stale = try store.recoverJobs(heartbeatBefore: t0 + 250, reason: "stale", now: t0 + 301) { _ in nil }
            #expect(stale.map(\.job.id) == [ids[2], ids[3]] && stale.allSatisfy { $0.result == .failed })
            s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 1 && s.runCount == 3 && s.failureCount == 3 && s.lastError == "stale")
        }
    }

    static func aDeletedScheduleNeverFailsTheEndOfItsJob(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let (schedule, ids) = try fired(store, count: 5)
            _ = try store.claim(workerId: "w", limit: 4, queues: nil, now: t0 + 300)
            try store.deleteSchedule(id: schedule.id)
            #expect(try store.complete(id: ids[0], workerId: "w", now: t0 + 301) == .completed)
            #expect(try store.fail(id: ids[1], workerId: "w", error: "e", retryAt: nil, now: t0 + 302) == .failed)
            #expect(try store.cancel(id: ids[2], now: t0 + 303).status == .cancelled)
            #expect(try store.cancel(id: ids[4], now: t0 + 303).status == .cancelled)
            let recovered = try #require(
                try store.recoverJobs(ofDeadOwner: "w", leaseAsJudged: .noRow, reason: "gone", now: t0 + 304) { _ in nil })
            #expect(recovered.map(\.job.id) == [ids[3]] && recovered.first?.result == .failed)
            #expect(try store.stats(queue: nil) == JobStats(completed: 1, failed: 2, cancelled: 2))
            #expect(try store.getSchedule(id: schedule.id) == nil)
            // Asked directly, the missing schedule is an error the caller may ignore.
            #expect(throws: SmrtJobsError.scheduleNotFound(schedule.id)) {
                try store.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil, now: t0 + 305)
            }
        }
    }
}
