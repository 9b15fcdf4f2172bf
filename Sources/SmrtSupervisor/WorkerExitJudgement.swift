import SmrtJobs

/// How a worker's end is judged once its exit is reaped: its `smrt_worker_exits_total` reason, whether it retired
/// (end of work: replaced at once, no back-off, not logged as a crash) or died, and what becomes of a job it still
/// held. A value type without processes, unit-tested (`WorkerExitJudgementTests`); `WorkerPool` gathers the facts.
///
/// A held job goes back to pending, its attempt not counted, only when the worker certainly never started it and the
/// process has really ended with status 0:
/// - its RUN crossed the worker's RETIRE (protocol 3: a worker answers no RUN it receives after RETIRE), or
/// - the worker had answered a job before and then exited 0 without reading this RUN, as the kernel tells:
///   writing the RUN failed (the worker had closed fd 3, or shut down its reading side), or the worker closed fd 3
///   with the RUN still unread (a read of ours then fails with `ECONNRESET`). A job that read its RUN and called
///   `exit(0)` itself counts its attempt, so such a job cannot come back forever.
///
/// Any other end counts the attempt, as a crash does: the job may have run.
///
/// A worker of protocol 4 says STARTED before it begins each job, so there is no guessing: a job it held without a
/// STARTED read (after draining what it left in its channel) never started, and goes back to pending uncounted
/// whatever the end (a kill, a crash, SHUTDOWN, RETIRE); one it said STARTED for is judged as above.
struct WorkerExitJudgement: Equatable {
    /// What the supervisor knows about the worker when its exit is reaped.
    struct Facts: Equatable {
        var status: ExitStatus
        /// It said HELLO.
        var wasReady = true
        /// Killed because it sent no HELLO in time.
        var failedToStart = false
        /// Killed by the supervisor for a reason (a timeout, a protocol error, a lost lease, a cancel, no exit after
        /// RETIRE), which becomes the error of the job it held.
        var killedForAReason = false
        /// Killed at its job's deadline.
        var killedForTimeout = false
        /// Asked to go by the supervisor: SHUTDOWN (recycling, TTOU, HUP, shutdown) or a kill (with or without a
        /// reason). Saying RETIRE is not being asked.
        var askedToStop = false
        /// The supervisor is stopping: a job it held goes back to pending whatever the exit.
        var releaseHeldJob = false
        /// It said RETIRE.
        var saidRetire = false
        /// Results it sent.
        var jobsDone = 0
        /// The job it still held first (the one it ran, or was to run next), if any.
        var heldJob: HeldJob?
        /// Jobs queued behind that one (protocol 4).
        var queuedJobs: [HeldJob] = []
    }

    /// The job a worker still held when it ended.
    struct HeldJob: Equatable {
        /// Its RUN crossed the worker's RETIRE on the wire.
        var crossedRetire = false
        /// The kernel says the worker never read its RUN (protocol 4: it has not said STARTED for it).
        var runUnread = false
        /// It may have run: always for protocol 1 to 3; for protocol 4, the worker said STARTED for it (or answered it).
        var started = true
    }

    /// What becomes of a held job.
    enum JobOutcome: Equatable {
        /// Back to pending, the attempt not counted; `reason` for the `job_released` line.
        case release(reason: String)
        /// The attempt fails (it counts) under the job's retry strategy.
        case failAttempt
    }

    let reason: WorkerExitReason
    /// End of work: RETIRE and exit 0, or exit 0 between jobs.
    let isRetirement: Bool
    /// A death: replaced with the respawn time reported, and (before HELLO or while idle) paced by the back-off.
    let died: Bool
    /// What becomes of the job it held; nil when it held none.
    let heldJob: JobOutcome?
    /// What becomes of the jobs queued behind it, in order.
    let queuedJobs: [JobOutcome]

    static let crossedRetireReason = "its RUN crossed the worker's RETIRE; the worker exited 0 without starting it"
    static let runUnreadReason = "its worker exited 0 (end of work) without reading its RUN"
    static let notStartedReason = "its worker ended without starting it (no STARTED)"
    static let stoppedBeforeStartReason = "its worker was asked to stop and did not start it (no STARTED)"

    init(_ facts: Facts) {
        let exitedZero = facts.status.isSuccess && !facts.killedForAReason
        let retirement: Bool
        if facts.saidRetire {
            retirement = exitedZero
        } else if exitedZero, facts.wasReady, facts.jobsDone > 0, !facts.askedToStop, !facts.failedToStart {
            retirement = facts.heldJob.map(\.runUnread) ?? true
        } else {
            retirement = false
        }
        isRetirement = retirement
        // A worker that said RETIRE was replaced then; whatever its end, it is not a death to replace again.
        let died = !retirement && !facts.saidRetire && (facts.killedForAReason || facts.failedToStart || !facts.askedToStop)
        self.died = died

        if facts.failedToStart || (!facts.wasReady && died) {
            reason = .startFailed
        } else if facts.killedForTimeout {
            reason = .timeoutKill
        } else if retirement {
            reason = .retired
        } else if facts.askedToStop && !facts.killedForAReason {
            reason = .recycled
        } else if case .exited = facts.status {
            reason = .exit
        } else {
            reason = .signal
        }

        func outcome(_ job: HeldJob) -> JobOutcome {
            if facts.releaseHeldJob { return .release(reason: "supervisor stopping") }
            if !job.started {
                if job.crossedRetire && retirement { return .release(reason: Self.crossedRetireReason) }
                let asked = facts.askedToStop && !facts.killedForAReason
                return .release(reason: asked ? Self.stoppedBeforeStartReason : Self.notStartedReason)
            }
            guard retirement else { return .failAttempt }
            return .release(reason: job.crossedRetire ? Self.crossedRetireReason : Self.runUnreadReason)
        }
        heldJob = facts.heldJob.map(outcome)
        queuedJobs = facts.queuedJobs.map(outcome)
    }
}
