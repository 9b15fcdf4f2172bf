import Foundation
import SmrtJobs

/// One attempt of a job on a worker, from dispatch to result (loop thread only).
///
/// Its deadline counts from the job's start: the RUN for a worker of protocol 1 to 3, the worker's STARTED for one
/// of protocol 4. A job queued behind another (protocol 4) has no deadline until it becomes its worker's next job
/// (the job before it answered); from then until its STARTED arrives its deadline counts from that moment, so a
/// worker that hangs between jobs is still stopped.
final class RunningJob {
    /// What the deadline has done so far.
    enum TimeoutState: Equatable {
        case none
        /// `warn`: the warning was logged; the job runs on.
        case warned
        /// `fail`: CANCEL was sent; a SIGKILL follows when the grace runs out.
        case cancelled
        /// `kill`, or `fail` after its grace: SIGKILL was sent.
        case killed
    }

    let job: SmrtJob
    /// When RUN was sent (`Monotonic.nanos`).
    let dispatchedAt: UInt64
    /// When the job started (`Monotonic.nanos`): at its RUN, or at its STARTED (protocol 4); until then, when it
    /// became its worker's next job (or its RUN, if it was not queued).
    private(set) var startedAt: UInt64
    /// When the job started, wall clock (the job's `started_at`).
    private(set) var startedWall: Date
    /// `startedAt` + the job's timeout.
    private(set) var deadline: UInt64
    /// The worker said STARTED for it (protocol 4), or it started with its RUN (protocol 1 to 3): it may have run.
    private(set) var started: Bool
    var timeoutState: TimeoutState = .none
    /// The job was cancelled (`smrt-jobs cancel`) while it ran: CANCEL was sent, a SIGKILL follows after the grace.
    var cancelRequested = false
    /// CANCEL was sent for it (a timeout or a cancel): a queued job (protocol 4) may then be answered without STARTED.
    var cancelSent = false
    /// It was answered while queued behind another job (protocol 4: a CANCEL of a job not started), not as its
    /// worker's first job.
    var answeredWhileQueued = false
    /// Writing its RUN failed (the worker had closed fd 3 or its reading side): the worker never got it.
    var runUndelivered = false

    /// - Parameter started: whether the RUN starts it (protocol 1 to 3); a protocol 4 job waits for STARTED.
    init(job: SmrtJob, dispatchedAt: UInt64, dispatchedWall: Date = Date(), started: Bool = true) {
        self.job = job
        self.dispatchedAt = dispatchedAt
        self.started = started
        startedAt = dispatchedAt
        startedWall = dispatchedWall
        deadline = Self.deadline(from: dispatchedAt, timeoutMs: job.timeout)
    }

    var id: Int64 { job.id }
    /// `Type.method`, as log lines show it.
    var label: String { "\(job.objectType).\(job.method)" }

    /// Milliseconds since the start (or since it became its worker's next job, before STARTED).
    func elapsedMs(now: UInt64 = Monotonic.nanos) -> Double { Monotonic.ms(from: startedAt, to: now) }

    /// It became its worker's next job without a STARTED yet: its deadline counts from `now` until STARTED comes.
    func becameNext(now: UInt64) {
        guard !started else { return }
        startedAt = now
        deadline = Self.deadline(from: now, timeoutMs: job.timeout)
    }

    /// STARTED arrived (or the job is taken as started: a worker answered it without STARTED, a protocol error).
    func markStarted(now: UInt64, wall: Date) {
        started = true
        startedAt = now
        startedWall = wall
        deadline = Self.deadline(from: now, timeoutMs: job.timeout)
    }

    /// Taken as started without moving its times (a protocol violation named it: its attempt counts).
    func treatAsStarted() {
        started = true
    }

    private static func deadline(from start: UInt64, timeoutMs: Int) -> UInt64 {
        start + UInt64(max(1, timeoutMs)) * 1_000_000
    }
}
