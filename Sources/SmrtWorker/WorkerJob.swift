import Foundation
import SmrtProtocol

/// The job that the current task is running in a worker process (see `SmrtWorker.currentJob`).
public struct WorkerJob: Sendable, Equatable {
    public let id: Int64
    /// Which attempt this is, starting at 1.
    public let attempt: Int
    /// The deadline as RUN carried it (ms since the Unix epoch, 0 = none): kept as it came, so a job that never asks
    /// for its `deadline` costs no date arithmetic.
    private let deadlineMillis: UInt64

    init(_ request: RunRequest) {
        id = request.jobId
        attempt = Int(request.attempt)
        deadlineMillis = request.deadlineMillis
    }

    /// When the supervisor acts on the job's timeout (cancel or kill); nil when the job has none. For a job that was
    /// queued behind another (protocol 4), the supervisor counts the timeout from the job's start, so the real deadline
    /// may be later than this one, never earlier.
    public var deadline: Date? {
        deadlineMillis == 0 ? nil : Date(timeIntervalSince1970: Double(deadlineMillis) / 1000)
    }
}
