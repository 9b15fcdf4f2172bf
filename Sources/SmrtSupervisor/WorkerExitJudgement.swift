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
        /// The job it still held, if any.
        var heldJob: HeldJob?
    }

    /// The job a worker still held when it ended.
    struct HeldJob: Equatable {
        /// Its RUN crossed the worker's RETIRE on the wire.
        var crossedRetire = false
        /// The kernel says the worker never read its RUN.
        var runUnread = false
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

        heldJob = facts.heldJob.map { job in
            if facts.releaseHeldJob { return .release(reason: "supervisor stopping") }
            guard retirement else { return .failAttempt }
            return .release(reason: job.crossedRetire
                ? "its RUN crossed the worker's RETIRE; the worker exited 0 without starting it"
                : "its worker exited 0 (end of work) without reading its RUN")
        }
    }
}
