import Foundation
import SmrtProtocol

/// The job that the current task is running in a worker process (see `SmrtWorker.currentJob`).
public struct WorkerJob: Sendable, Equatable {
    public let id: Int64
    /// Which attempt this is, starting at 1.
    public let attempt: Int
    /// When the supervisor acts on the job's timeout (cancel or kill); nil when the job has none.
    public let deadline: Date?

    init(_ request: RunRequest) {
        id = request.jobId
        attempt = Int(request.attempt)
        deadline = request.deadlineMillis == 0
            ? nil : Date(timeIntervalSince1970: Double(request.deadlineMillis) / 1000)
    }
}
