import Foundation

/// How a job ended, as seen by `JobHandle.wait`.
public struct JobOutcome: Sendable, Equatable {
    public var success: Bool
    public var status: JobStatus
    /// The method's return value (nil when it returned nothing or failed).
    public var result: JSONValue?
    public var resultPointer: String?
    /// The last error when the job failed or was cancelled.
    public var error: String?

    /// Decodes the result into a Codable type.
    public func decodeResult<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueCoding.decode(T.self, from: result ?? .null)
    }
}

/// A reference to an enqueued job.
public struct JobHandle: Sendable {
    public let id: Int64
    let store: any JobStore

    public init(id: Int64, store: any JobStore) {
        self.id = id
        self.store = store
    }

    public func job() throws -> SmrtJob {
        guard let job = try store.get(id: id) else { throw SmrtJobsError.jobNotFound(id) }
        return job
    }

    public func status() throws -> JobStatus { try job().status }

    /// pending or running.
    public func isRunning() throws -> Bool {
        let status = try status()
        return status == .pending || status == .running
    }

    /// completed, failed or cancelled.
    public func isDone() throws -> Bool { try status().isTerminal }

    @discardableResult
    public func cancel(now: Date = Date()) throws -> SmrtJob { try store.cancel(id: id, now: now) }

    @discardableResult
    public func retry(now: Date = Date()) throws -> SmrtJob { try store.retry(id: id, now: now) }

    /// Waits until the job is completed, failed or cancelled, checking every `pollInterval`.
    /// Throws `SmrtJobsError.waitTimeout` when `timeout` passes first (the job goes on).
    public func wait(timeout: Duration = .seconds(60), pollInterval: Duration = .milliseconds(100)) async throws
        -> JobOutcome
    {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let job = try job()
            if job.status.isTerminal {
                return JobOutcome(
                    success: job.status == .completed, status: job.status, result: job.result,
                    resultPointer: job.resultPointer, error: job.status == .completed ? nil : job.lastError)
            }
            if clock.now >= deadline {
                throw SmrtJobsError.waitTimeout(jobId: id, milliseconds: try DelayParser.milliseconds(timeout, field: "timeout"))
            }
            try await Task.sleep(for: min(pollInterval, deadline - clock.now), clock: clock)
        }
    }
}
