import SmrtJobs
import Testing
@testable import SmrtSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// How a worker's end is judged: retirement or death, its metrics reason, and whether a job it still held goes back
/// to pending uncounted (only when it certainly never started and the process exited 0) or counts its attempt.
@Suite struct WorkerExitJudgementTests {
    typealias Facts = WorkerExitJudgement.Facts
    typealias HeldJob = WorkerExitJudgement.HeldJob

    static let exitZero = ExitStatus.exited(code: 0)
    static let crossedReason = "its RUN crossed the worker's RETIRE; the worker exited 0 without starting it"
    static let unreadReason = "its worker exited 0 (end of work) without reading its RUN"

    @Test func retireThenExitZeroIsARetirementAndACrossedJobGoesBack() {
        let judgement = WorkerExitJudgement(Facts(
            status: Self.exitZero, saidRetire: true, jobsDone: 4, heldJob: HeldJob(crossedRetire: true)))
        #expect(judgement.isRetirement)
        #expect(!judgement.died)
        #expect(judgement.reason == .retired)
        #expect(judgement.heldJob == .release(reason: Self.crossedReason))
        let idle = WorkerExitJudgement(Facts(status: Self.exitZero, saidRetire: true, jobsDone: 0))
        #expect(idle.isRetirement && idle.reason == .retired && idle.heldJob == nil)
    }

    /// RETIRE promises exit 0: any other end is a crash, and a crossed job counts its attempt (it may have run).
    @Test(arguments: [ExitStatus.exited(code: 3), .signaled(signal: SIGSEGV)])
    func retireThenAnyOtherEndCountsTheAttempt(_ status: ExitStatus) {
        let judgement = WorkerExitJudgement(Facts(
            status: status, saidRetire: true, jobsDone: 4, heldJob: HeldJob(crossedRetire: true)))
        #expect(!judgement.isRetirement)
        #expect(!judgement.died, "it was replaced when it said RETIRE")
        #expect(judgement.heldJob == .failAttempt)
        #expect(judgement.reason == (status == .exited(code: 3) ? .exit : .signal))
    }

    @Test func retireButKilledForNotExitingCountsTheAttempt() {
        let judgement = WorkerExitJudgement(Facts(
            status: .signaled(signal: SIGKILL), killedForAReason: true, askedToStop: true, saidRetire: true,
            heldJob: HeldJob(crossedRetire: true)))
        #expect(!judgement.isRetirement)
        #expect(judgement.heldJob == .failAttempt)
        #expect(judgement.reason == .signal)
    }

    /// Any protocol version: exit 0 after a result, with the RUN sent since never read, is a retirement.
    @Test func exitZeroAfterAResultWithTheRunUnreadIsARetirement() {
        let judgement = WorkerExitJudgement(Facts(status: Self.exitZero, jobsDone: 1, heldJob: HeldJob(runUnread: true)))
        #expect(judgement.isRetirement)
        #expect(!judgement.died)
        #expect(judgement.reason == .retired)
        #expect(judgement.heldJob == .release(reason: Self.unreadReason))
    }

    @Test func exitZeroWhileIdleAfterAResultIsARetirement() {
        let judgement = WorkerExitJudgement(Facts(status: Self.exitZero, jobsDone: 7))
        #expect(judgement.isRetirement && !judgement.died && judgement.reason == .retired && judgement.heldJob == nil)
    }

    /// A job that read its RUN and called exit(0) ran: its attempt counts, so it cannot come back forever.
    @Test func exitZeroWithTheRunReadCountsTheAttempt() {
        let judgement = WorkerExitJudgement(Facts(status: Self.exitZero, jobsDone: 3, heldJob: HeldJob(runUnread: false)))
        #expect(!judgement.isRetirement)
        #expect(judgement.died)
        #expect(judgement.reason == .exit)
        #expect(judgement.heldJob == .failAttempt)
    }

    /// "Right after a result": a worker that never answered a job is broken, not done.
    @Test func exitZeroBeforeAnyResultIsNoRetirement() {
        let busy = WorkerExitJudgement(Facts(status: Self.exitZero, jobsDone: 0, heldJob: HeldJob(runUnread: true)))
        #expect(!busy.isRetirement && busy.died && busy.heldJob == .failAttempt && busy.reason == .exit)
        let idle = WorkerExitJudgement(Facts(status: Self.exitZero, jobsDone: 0))
        #expect(!idle.isRetirement && idle.died && idle.reason == .exit)
    }

    @Test(arguments: [ExitStatus.exited(code: 1), .signaled(signal: SIGABRT)])
    func anyOtherEndWithTheRunUnreadCountsTheAttempt(_ status: ExitStatus) {
        let judgement = WorkerExitJudgement(Facts(status: status, jobsDone: 5, heldJob: HeldJob(runUnread: true)))
        #expect(!judgement.isRetirement && judgement.died && judgement.heldJob == .failAttempt)
    }

    @Test func aKillForAReasonIsNeverARetirement() {
        let timeout = WorkerExitJudgement(Facts(
            status: .signaled(signal: SIGKILL), killedForAReason: true, killedForTimeout: true, askedToStop: true,
            jobsDone: 2, heldJob: HeldJob(runUnread: false)))
        #expect(!timeout.isRetirement && timeout.died && timeout.reason == .timeoutKill && timeout.heldJob == .failAttempt)
        // It exited 0 by itself a moment before the kill landed: the kill's verdict stands.
        let raced = WorkerExitJudgement(Facts(
            status: Self.exitZero, killedForAReason: true, askedToStop: true, jobsDone: 2, heldJob: HeldJob(runUnread: true)))
        #expect(!raced.isRetirement && raced.heldJob == .failAttempt)
    }

    @Test func askedToStopIsRecycledAsBefore() {
        let judgement = WorkerExitJudgement(Facts(status: Self.exitZero, askedToStop: true, jobsDone: 9))
        #expect(!judgement.isRetirement && !judgement.died && judgement.reason == .recycled)
    }

    @Test func theSupervisorStoppingReleasesAHeldJobWhateverTheExit() {
        let judgement = WorkerExitJudgement(Facts(
            status: .signaled(signal: SIGKILL), askedToStop: true, releaseHeldJob: true, jobsDone: 1,
            heldJob: HeldJob(runUnread: false)))
        #expect(judgement.heldJob == .release(reason: "supervisor stopping"))
        #expect(judgement.reason == .recycled)
    }

    @Test func startFailuresAreUnchanged() {
        let timedOut = WorkerExitJudgement(Facts(
            status: .signaled(signal: SIGKILL), wasReady: false, failedToStart: true, askedToStop: true))
        #expect(timedOut.died && timedOut.reason == .startFailed)
        let diedEarly = WorkerExitJudgement(Facts(status: Self.exitZero, wasReady: false))
        #expect(diedEarly.died && !diedEarly.isRetirement && diedEarly.reason == .startFailed)
    }

    @Test func crashesAreUnchanged() {
        let crash = WorkerExitJudgement(Facts(status: .signaled(signal: SIGSEGV), jobsDone: 3, heldJob: HeldJob()))
        #expect(crash.died && crash.reason == .signal && crash.heldJob == .failAttempt)
        let exit = WorkerExitJudgement(Facts(status: .exited(code: 3), jobsDone: 3))
        #expect(exit.died && exit.reason == .exit)
    }

    // MARK: Protocol 4: STARTED says which jobs began

    static let notStarted = WorkerExitJudgement.notStartedReason

    /// A kill or a crash: the job it began is judged as before, the ones it had not said STARTED for go back
    /// uncounted, whatever the end.
    @Test(arguments: [ExitStatus.signaled(signal: SIGKILL), .signaled(signal: SIGSEGV), .exited(code: 3)])
    func jobsWithoutStartedGoBackUncountedWhateverTheEnd(_ status: ExitStatus) {
        let killed = status == .signaled(signal: SIGKILL)
        let judgement = WorkerExitJudgement(Facts(
            status: status, killedForAReason: killed, killedForTimeout: killed, askedToStop: killed, jobsDone: 4,
            heldJob: HeldJob(runUnread: false, started: true),
            queuedJobs: [HeldJob(runUnread: true, started: false), HeldJob(runUnread: true, started: false)]))
        #expect(judgement.heldJob == .failAttempt)
        #expect(judgement.queuedJobs == [.release(reason: Self.notStarted), .release(reason: Self.notStarted)])
        #expect(judgement.died)
    }

    /// Its first job not started either (it hung between jobs, or died right after a result): all go back.
    @Test func aFirstJobWithoutStartedGoesBackToo() {
        let judgement = WorkerExitJudgement(Facts(
            status: .signaled(signal: SIGKILL), killedForAReason: true, askedToStop: true, jobsDone: 4,
            heldJob: HeldJob(runUnread: true, started: false), queuedJobs: [HeldJob(runUnread: true, started: false)]))
        #expect(judgement.heldJob == .release(reason: Self.notStarted))
        #expect(judgement.queuedJobs == [.release(reason: Self.notStarted)])
    }

    /// SHUTDOWN (recycling, TTOU, HUP): the worker answered its job and started none of those queued.
    @Test func shutdownReleasesTheQueuedJobsItDidNotStart() {
        let judgement = WorkerExitJudgement(Facts(
            status: Self.exitZero, askedToStop: true, jobsDone: 7, heldJob: HeldJob(runUnread: true, started: false)))
        #expect(judgement.heldJob == .release(reason: WorkerExitJudgement.stoppedBeforeStartReason))
        #expect(judgement.reason == .recycled)
        let stopping = WorkerExitJudgement(Facts(
            status: Self.exitZero, askedToStop: true, releaseHeldJob: true, jobsDone: 7,
            heldJob: HeldJob(runUnread: true, started: false), queuedJobs: [HeldJob(runUnread: true, started: false)]))
        #expect(stopping.heldJob == .release(reason: "supervisor stopping"))
        #expect(stopping.queuedJobs == [.release(reason: "supervisor stopping")])
    }

    /// RETIRE with jobs queued behind its last one: a retirement, and they go back; also if it then died some other
    /// way (they never started).
    @Test func retireWithQueuedJobsReleasesThem() {
        let retired = WorkerExitJudgement(Facts(
            status: Self.exitZero, saidRetire: true, jobsDone: 3,
            heldJob: HeldJob(crossedRetire: true, runUnread: true, started: false),
            queuedJobs: [HeldJob(crossedRetire: true, runUnread: true, started: false)]))
        #expect(retired.isRetirement)
        #expect(retired.heldJob == .release(reason: Self.crossedReason))
        #expect(retired.queuedJobs == [.release(reason: Self.crossedReason)])
        let crashed = WorkerExitJudgement(Facts(
            status: .signaled(signal: SIGSEGV), saidRetire: true, jobsDone: 3,
            heldJob: HeldJob(crossedRetire: true, runUnread: true, started: false)))
        #expect(!crashed.isRetirement)
        #expect(crashed.heldJob == .release(reason: Self.notStarted), "no STARTED: it never ran, whatever the end")
    }

    /// A bare exit 0 after a result with the next job not started: a retirement; one it said STARTED for counts.
    @Test func exitZeroBetweenJobsIsARetirementOnlyWithoutStarted() {
        let between = WorkerExitJudgement(Facts(
            status: Self.exitZero, jobsDone: 2, heldJob: HeldJob(runUnread: true, started: false)))
        #expect(between.isRetirement && between.heldJob == .release(reason: Self.notStarted))
        let during = WorkerExitJudgement(Facts(
            status: Self.exitZero, jobsDone: 2, heldJob: HeldJob(runUnread: false, started: true),
            queuedJobs: [HeldJob(runUnread: true, started: false)]))
        #expect(!during.isRetirement && during.heldJob == .failAttempt)
        #expect(during.queuedJobs == [.release(reason: Self.notStarted)])
    }
}
