import Foundation

/// A reference to an enqueued job, through the `JobQueue` it was enqueued on.
///
/// ```swift
/// let handle = try await doc.bg("generateSummary", args: ["format": "md"])
/// let outcome = try await handle.wait(timeout: .seconds(60))
/// ```
public struct JobHandle: Sendable {
    public let id: Int64
    public let queue: JobQueue
    /// True when the enqueue found a job with the same unique key (`JobBuilder.unique`) and returned it
    /// instead of inserting a new one.
    public let existing: Bool

    public init(id: Int64, queue: JobQueue, existing: Bool = false) {
        self.id = id
        self.queue = queue
        self.existing = existing
    }

    /// The job as stored now.
    ///
    /// - Throws: `SmrtJobsError.jobNotFound` when it was deleted (pruned).
    public func job() async throws -> SmrtJob {
        guard let job = try await queue.job(id: id) else { throw SmrtJobsError.jobNotFound(id) }
        return job
    }

    public func status() async throws -> JobStatus { try await job().status }

    /// pending or running: the job has not ended yet.
    public func isRunning() async throws -> Bool {
        let status = try await status()
        return status == .pending || status == .running
    }

    /// completed, failed or cancelled.
    public func isDone() async throws -> Bool { try await status().isTerminal }

    /// pending, running or failed → cancelled. A running job's work is stopped by whoever runs it.
    @discardableResult
    public func cancel(now: Date = Date()) async throws -> SmrtJob { try await queue.cancel(id: id, now: now) }

    /// Any status but completed → pending now, attempts reset.
    @discardableResult
    public func retry(now: Date = Date()) async throws -> SmrtJob { try await queue.retry(id: id, now: now) }

    /// Waits until the job is completed, failed or cancelled and returns how it ended.
    ///
    /// Wakes when the backend's change signal reports a commit (and re-reads the job); `pollInterval` is only
    /// the fallback for a backend that cannot signal, or a signal that was missed.
    ///
    /// - Throws: `SmrtJobsError.waitTimeout` when `timeout` passes first (the job goes on);
    ///   `CancellationError` when the task is cancelled; `SmrtJobsError.closed` when the queue is closed;
    ///   `SmrtJobsError.invalidValue` for a negative timeout or a poll interval that is not positive.
    public func wait(timeout: Duration = .seconds(60), pollInterval: Duration = .seconds(1)) async throws -> JobOutcome {
        let timeoutMs = try DelayParser.milliseconds(timeout, field: "timeout")
        guard pollInterval > .zero else {
            throw SmrtJobsError.invalidValue(field: "pollInterval", value: "\(pollInterval)", reason: "must be positive")
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let subscription = queue.changes.subscribe()
        defer { queue.changes.unsubscribe(subscription.id) }
        queue.startChangeSignalIfNeeded()
        while true {
            try Task.checkCancellation()
            let job = try await job()
            if job.status.isTerminal { return JobOutcome(job) }
            let remaining = deadline - clock.now
            if remaining <= .zero { throw SmrtJobsError.waitTimeout(jobId: id, milliseconds: timeoutMs) }
            await subscription.waker.wait(timeout: min(pollInterval, remaining))
        }
    }
}
