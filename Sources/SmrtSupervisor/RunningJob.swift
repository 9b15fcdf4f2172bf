import Foundation
import SmrtJobs

/// One attempt of a job on a worker, from dispatch to result (loop thread only).
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
    /// When RUN was sent (`UVLoop.hrtimeNanos`).
    let dispatchedAt: UInt64
    /// When RUN was sent, wall clock (recorded as the job's `started_at`).
    let dispatchedWall: Date
    /// `dispatchedAt` + the job's timeout.
    let deadline: UInt64
    var timeoutState: TimeoutState = .none
    /// The job was cancelled (`smrt-jobs cancel`) while it ran: CANCEL was sent, a SIGKILL follows after the grace.
    var cancelRequested = false
    /// Writing its RUN failed (the worker had closed fd 3 or its reading side): the worker never got it.
    var runUndelivered = false

    init(job: SmrtJob, dispatchedAt: UInt64, dispatchedWall: Date = Date()) {
        self.job = job
        self.dispatchedAt = dispatchedAt
        self.dispatchedWall = dispatchedWall
        deadline = dispatchedAt + UInt64(max(1, job.timeout)) * 1_000_000
    }

    var id: Int64 { job.id }
    /// `Type.method`, as log lines show it.
    var label: String { "\(job.objectType).\(job.method)" }

    /// Milliseconds since dispatch.
    func elapsedMs(now: UInt64 = Monotonic.nanos) -> Double { Monotonic.ms(from: dispatchedAt, to: now) }
}
