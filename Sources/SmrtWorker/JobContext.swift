import SmrtJobs
import SmrtProtocol

/// The job a worker's task runs, and what job code can tell the supervisor about it.
///
/// ```swift
/// for page in 1...50 {
///     try render(page)
///     try JobContext.current?.progress(Double(page) / 50, "page \(page) of 50")
/// }
/// ```
public struct JobContext: Sendable {
    @TaskLocal static var taskContext: JobContext?

    /// The context of the job the calling task runs (also in tasks it starts), or nil outside a job.
    public static var current: JobContext? { taskContext }

    /// The job's id, attempt and deadline.
    public let job: WorkerJob
    let runtime: WorkerRuntime

    init(job: WorkerJob, runtime: WorkerRuntime) {
        self.job = job
        self.runtime = runtime
    }

    /// Reports how far the job has got: `fraction` from 0 to 1, and a short text for people. The supervisor keeps
    /// the latest report of the running job and stores it on the job (at most once a second), where `smrt-jobs
    /// show` and the dashboard show it. Cheap enough to call often: the supervisor, not this call, limits the writes.
    /// - Throws: `SmrtJobsError.invalidValue` naming `fraction` (NaN, infinite, or outside 0…1) or `message` (more
    ///   than `JobProgress.maxMessageBytes` bytes of UTF-8); nothing is sent then.
    public func progress(_ fraction: Double, _ message: String? = nil) throws {
        guard fraction.isFinite, (0...1).contains(fraction) else {
            throw SmrtJobsError.invalidValue(field: "fraction", value: "\(fraction)", reason: "must be a number from 0 to 1")
        }
        var object: [String: JSONValue] = ["fraction": .double(fraction)]
        if let message {
            guard message.utf8.count <= JobProgress.maxMessageBytes else {
                throw SmrtJobsError.invalidValue(
                    field: "message", value: String(message.prefix(40)),
                    reason: "\(message.utf8.count) bytes; at most \(JobProgress.maxMessageBytes)")
            }
            object["message"] = .string(message)
        }
        runtime.send(.progress(jobId: job.id, json: JSONValue.object(object).jsonText))
    }
}
