import Foundation
import SmrtJobs
import Testing
@testable import SmrtSupervisor

/// The claim planner's decisions, without a process, a loop or a database.
@Suite struct ClaimPlannerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func jobs(_ ids: ClosedRange<Int64>) -> [SmrtJob] {
        ids.map { SmrtJob(id: $0, objectType: "Demo", method: "noop", runAt: Self.t0, createdAt: Self.t0, updatedAt: Self.t0) }
    }

    func finish(_ id: Int64) -> DatabaseThread.PendingFinish {
        DatabaseThread.PendingFinish(jobId: id, result: nil, failure: nil, startedAt: nil) { _ in }
    }

    /// The commit the planner hands out now; fails the test when there is none.
    func commit(_ planner: inout ClaimPlanner, sourceLocation: SourceLocation = #_sourceLocation) throws -> ClaimPlanner.Commit {
        let commit = planner.takeCommit()
        return try #require(commit, "nothing to commit", sourceLocation: sourceLocation)
    }

    // MARK: Claims for idle workers

    @Test func claimsOnePerIdleWorkerAndUrgently() throws {
        var planner = ClaimPlanner(prefetch: 8)
        #expect(planner.plan(idleWorkers: 3, runningWorkers: 3, topUp: false).isEmpty)
        #expect(planner.inFlightClaims == 3)
        let commit = try commit(&planner)
        #expect(commit.claim == 3 && commit.urgent && commit.finishes.isEmpty)
        let nothing = planner.takeCommit()
        #expect(nothing == nil, "taking the commit empties it")
        #expect(planner.inFlightClaims == 3, "still in flight until the reply")
    }

    @Test func doesNotAskTwiceForTheSameIdleWorkers() throws {
        var planner = ClaimPlanner(prefetch: 8)
        _ = planner.plan(idleWorkers: 2, runningWorkers: 2, topUp: false)
        _ = planner.takeCommit()
        _ = planner.plan(idleWorkers: 2, runningWorkers: 2, topUp: false)
        let nothing = planner.takeCommit()
        #expect(nothing == nil)
        #expect(planner.inFlightClaims == 2)
    }

    @Test func aPartialClaimDoesNotClaimAgain() {
        var planner = ClaimPlanner(prefetch: 8)
        _ = planner.plan(idleWorkers: 2, runningWorkers: 2, topUp: false)
        let (run, claimMore) = planner.received(jobs(1...1), asked: 2, idleWorkers: 2, now: 100)
        #expect(run.map(\.id) == [1])
        #expect(!claimMore, "fewer than asked: the queue is empty for now")
        #expect(planner.inFlightClaims == 0 && planner.held.isEmpty)
    }

    @Test func aFullClaimAsksForMore() {
        var planner = ClaimPlanner(prefetch: 8)
        _ = planner.plan(idleWorkers: 2, runningWorkers: 2, topUp: false)
        let (run, claimMore) = planner.received(jobs(1...2), asked: 2, idleWorkers: 2, now: 100)
        #expect(run.map(\.id) == [1, 2])
        #expect(claimMore)
    }

    // MARK: Prefetch

    @Test func prefetchOnlyRightAfterAShortJob() throws {
        var planner = ClaimPlanner(prefetch: 4)
        planner.attemptEnded(durationMs: 3)
        let topUp = planner.topUpWhenIdle(workerRanJobs: true)
        #expect(topUp)
        _ = planner.plan(idleWorkers: 1, runningWorkers: 2, topUp: topUp)
        // 1 for the idle worker, and 4 per running worker in hand: max(1, 1 + 4 * 2) = 9.
        let commit = planner.takeCommit()
        #expect(commit?.claim == 9)
        let again = planner.topUpWhenIdle(workerRanJobs: true)
        #expect(!again, "the short-job flag is used once")
    }

    @Test func noPrefetchAfterALongJobAfterHelloOrWhenDisabled() {
        var planner = ClaimPlanner(prefetch: 4)
        #expect(planner.shortJobMs == 50)
        planner.attemptEnded(durationMs: 50)
        let afterLongJob = planner.topUpWhenIdle(workerRanJobs: true)
        #expect(!afterLongJob, "a job of 50 ms is not short")
        planner.attemptEnded(durationMs: 1)
        let afterHello = planner.topUpWhenIdle(workerRanJobs: false)
        #expect(!afterHello, "a worker that just said HELLO ran nothing")
        var disabled = ClaimPlanner(prefetch: 0)
        _ = disabled.plan(idleWorkers: 1, runningWorkers: 2, topUp: true)
        let commit = disabled.takeCommit()
        #expect(commit?.claim == 1)
    }

    /// Held jobs are sized by time: about 20 ms of work per running worker at the recent (smoothed) length of short
    /// jobs, at least one, at most `prefetch`; long jobs leave the length as it was (nothing is claimed ahead then).
    @Test func heldJobsCoverAboutTwentyMillisecondsPerWorker() throws {
        var planner = ClaimPlanner(prefetch: 64)
        #expect(planner.prefetchPerWorker == 64, "before any job ended: the limit")
        planner.attemptEnded(durationMs: 0.1)
        #expect(planner.prefetchPerWorker == 64, "noops: 200 would fit, 64 at most")
        var tens = ClaimPlanner(prefetch: 64)
        tens.attemptEnded(durationMs: 10)
        #expect(tens.prefetchPerWorker == 2)
        _ = tens.plan(idleWorkers: 0, runningWorkers: 3, topUp: true)
        #expect(try commit(&tens).claim == 6, "2 per running worker")
        tens.attemptEnded(durationMs: 40)
        #expect(tens.recentJobMs == 17.5, "smoothed: 10 × 0.75 + 40 × 0.25")
        #expect(tens.prefetchPerWorker == 1, "at least one")
        tens.attemptEnded(durationMs: 5000)
        #expect(tens.recentJobMs == 17.5 && !tens.jobsAreShort, "a long job does not count")
        #expect(ClaimPlanner.jobs(lasting: 0, toFill: 20, atMost: 8) == 8)
        #expect(ClaimPlanner.jobs(lasting: 7, toFill: 20, atMost: 8) == 2)
        #expect(ClaimPlanner.jobs(lasting: 7, toFill: 20, atMost: 0) == 0)
    }

    @Test func jobsStayShortUntilALongOneEnds() {
        var planner = ClaimPlanner(prefetch: 4)
        #expect(!planner.jobsAreShort, "nothing ended yet: no claiming ahead")
        planner.attemptEnded(durationMs: 3)
        _ = planner.topUpWhenIdle(workerRanJobs: true)
        #expect(planner.jobsAreShort, "a full claim after a short job still tops up")
        planner.attemptEnded(durationMs: 120)
        #expect(!planner.jobsAreShort, "a long job ends claiming ahead")
    }

    @Test func topUpCountsHeldAndInFlightJobs() throws {
        var planner = ClaimPlanner(prefetch: 2)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 2, topUp: true)
        let first = try commit(&planner)
        #expect(first.claim == 4)
        #expect(first.urgent, "fewer held jobs than running workers: one will wait soon")
        _ = planner.received(jobs(1...3), asked: 4, idleWorkers: 0, now: 100)
        #expect(planner.held.map(\.job.id) == [1, 2, 3])
        _ = planner.plan(idleWorkers: 0, runningWorkers: 2, topUp: true)
        let second = try commit(&planner)
        #expect(second.claim == 1, "4 wanted in hand, 3 held")
        #expect(!second.urgent, "every running worker has a job in hand: may wait for the commit window")
    }

    /// The threshold is the configuration's (`--short-job-threshold`): with 10 s, a job of 9.999 s is short and tops
    /// up; one of 10 s is not; with 0 no job is.
    @Test func theShortJobThresholdIsConfigurable() {
        var planner = ClaimPlanner(prefetch: 4, shortJobMs: 10_000)
        planner.attemptEnded(durationMs: 9_999)
        #expect(planner.jobsAreShort)
        let topUp = planner.topUpWhenIdle(workerRanJobs: true)
        #expect(topUp)
        _ = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: topUp)
        let commit = planner.takeCommit()
        #expect(commit?.claim == 2, "1 for the idle worker and 1 in hand (a job of 10 s fills the 20 ms alone)")
        planner.attemptEnded(durationMs: 10_000)
        #expect(!planner.jobsAreShort)
        let afterLongJob = planner.topUpWhenIdle(workerRanJobs: true)
        #expect(!afterLongJob)

        var never = ClaimPlanner(prefetch: 4, shortJobMs: 0)
        never.attemptEnded(durationMs: 0)
        #expect(!never.jobsAreShort, "0: no job is short")
        let topUpNever = never.topUpWhenIdle(workerRanJobs: true)
        #expect(!topUpNever)
    }

    // MARK: Held jobs

    @Test func heldJobsGoToIdleWorkersOldestFirstBeforeAnyNewClaim() throws {
        var planner = ClaimPlanner(prefetch: 2)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        _ = planner.takeCommit()
        _ = planner.received(jobs(1...2), asked: 2, idleWorkers: 0, now: 100)
        let dispatched = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: false)
        #expect(dispatched.map(\.id) == [1])
        let nothing = planner.takeCommit()
        #expect(nothing == nil, "the idle worker got a held job: nothing to claim")
        #expect(planner.held.map(\.job.id) == [2])
    }

    @Test func newlyClaimedJobsQueueBehindHeldOnes() {
        var planner = ClaimPlanner(prefetch: 2)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        _ = planner.received(jobs(1...1), asked: 2, idleWorkers: 0, now: 100)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        let (run, _) = planner.received(jobs(2...3), asked: 1, idleWorkers: 2, now: 200)
        #expect(run.map(\.id) == [1, 2])
        #expect(planner.held.map(\.job.id) == [3])
    }

    @Test func staleHeldJobsAreTakenByAge() {
        var planner = ClaimPlanner(prefetch: 4)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        _ = planner.received(jobs(1...2), asked: 4, idleWorkers: 0, now: 100)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        _ = planner.received(jobs(3...3), asked: 2, idleWorkers: 0, now: 300)
        #expect(planner.takeHeld(claimedAtOrBefore: 200).map(\.id) == [1, 2])
        #expect(planner.held.map(\.job.id) == [3])
        #expect(planner.takeHeld(claimedAtOrBefore: nil).map(\.id) == [3])
        #expect(planner.held.isEmpty)
    }

    // MARK: The outbox

    @Test func resultsAndTheClaimShareOneCommit() throws {
        var planner = ClaimPlanner(prefetch: 0)
        planner.record(finish(7))
        planner.record(finish(8))
        _ = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: false)
        let commit = try commit(&planner)
        #expect(commit.finishes.map(\.jobId) == [7, 8])
        #expect(commit.claim == 1 && commit.urgent)
        let nothing = planner.takeCommit()
        #expect(nothing == nil)
    }

    @Test func resultsAloneAreNotUrgent() throws {
        var planner = ClaimPlanner(prefetch: 0)
        planner.record(finish(1))
        let commit = try commit(&planner)
        #expect(commit.claim == 0 && !commit.urgent, "results may wait for the group-commit window")
    }

    // MARK: Stopping

    @Test func stoppingDropsTheUnsentClaimAndHandsBackHeldJobs() {
        var planner = ClaimPlanner(prefetch: 2)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        _ = planner.takeCommit()
        _ = planner.received(jobs(1...2), asked: 2, idleWorkers: 0, now: 100)
        _ = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: false)  // hands out job 1
        _ = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: false)  // hands out job 2
        _ = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: false)  // asks for 1, not yet sent
        #expect(planner.inFlightClaims == 1)
        #expect(planner.stop().isEmpty)
        #expect(planner.inFlightClaims == 0, "nothing left in flight: shutdown may proceed")
        let nothing = planner.takeCommit()
        #expect(nothing == nil)
    }

    @Test func aClaimThatComesBackAfterStoppingIsAbandoned() {
        var planner = ClaimPlanner(prefetch: 0)
        _ = planner.plan(idleWorkers: 2, runningWorkers: 2, topUp: false)
        _ = planner.takeCommit()
        _ = planner.stop()
        #expect(planner.inFlightClaims == 2, "sent claims are still in flight")
        planner.claimAbandoned(asked: 2)
        #expect(planner.inFlightClaims == 0)
    }

    // MARK: Queue slots (protocol 4 pipelining)

    /// Held jobs go to idle workers first, then to the slots behind running jobs; nothing is claimed for a slot.
    @Test func heldJobsGoToIdleWorkersFirstThenToQueueSlots() throws {
        var planner = ClaimPlanner(prefetch: 4)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 2, topUp: true)
        _ = try commit(&planner)
        _ = planner.received(jobs(1...3), asked: 8, idleWorkers: 0, now: 100)
        let dispatched = planner.plan(idleWorkers: 1, queueSlots: 1, runningWorkers: 2, topUp: false)
        #expect(dispatched.map(\.id) == [1, 2], "job 1 to the idle worker, job 2 queued")
        #expect(planner.held.map(\.job.id) == [3])
        #expect(planner.takeCommit() == nil, "the idle worker was served from held jobs; no claim for the slot")
    }

    @Test func queueSlotsAloneClaimNothing() throws {
        var planner = ClaimPlanner(prefetch: 4)
        #expect(planner.plan(idleWorkers: 0, queueSlots: 2, runningWorkers: 2, topUp: false).isEmpty)
        #expect(planner.inFlightClaims == 0)
        #expect(planner.takeCommit() == nil)
    }

    /// An idle worker left without a held job is still claimed for, urgently, when the slots took the rest.
    @Test func anIdleWorkerWithoutAHeldJobIsClaimedFor() throws {
        var planner = ClaimPlanner(prefetch: 4)
        _ = planner.plan(idleWorkers: 0, runningWorkers: 1, topUp: true)
        _ = try commit(&planner)
        _ = planner.received(jobs(1...1), asked: 4, idleWorkers: 0, now: 100)
        let dispatched = planner.plan(idleWorkers: 2, queueSlots: 1, runningWorkers: 1, topUp: false)
        #expect(dispatched.map(\.id) == [1])
        let commit = try commit(&planner)
        #expect(commit.claim == 1 && commit.urgent)
    }

    /// After a claim's answer served the idle workers, the slots are filled from the rest, oldest first.
    @Test func aClaimsJobsFillIdleWorkersThenQueueSlots() {
        var planner = ClaimPlanner(prefetch: 4)
        _ = planner.plan(idleWorkers: 1, runningWorkers: 1, topUp: false)
        let (run, claimMore) = planner.received(jobs(1...4), asked: 4, idleWorkers: 1, now: 100)
        #expect(run.map(\.id) == [1])
        #expect(claimMore)
        #expect(planner.plan(idleWorkers: 0, queueSlots: 2, runningWorkers: 0, topUp: false).map(\.id) == [2, 3])
        #expect(planner.held.map(\.job.id) == [4])
        #expect(planner.inFlightClaims == 0)
    }
}
