import Foundation

/// How a job ended, as seen by `JobHandle.wait`.
public struct JobOutcome: Sendable, Equatable {
    /// The error of every cancelled job, as the original reports it.
    public static let cancelledError = "Job was cancelled"

    /// Whether the job completed.
    public var success: Bool
    public var status: JobStatus
    /// The method's return value (nil when it returned nothing or failed).
    public var result: JSONValue?
    public var resultPointer: String?
    /// Why the job did not complete: its last error when it failed, `cancelledError` when it was cancelled.
    public var error: String?

    public init(success: Bool, status: JobStatus, result: JSONValue? = nil, resultPointer: String? = nil, error: String? = nil) {
        self.success = success
        self.status = status
        self.result = result
        self.resultPointer = resultPointer
        self.error = error
    }

    /// The outcome of a job that has ended (completed, failed or cancelled).
    public init(_ job: SmrtJob) {
        let error: String?
        switch job.status {
        case .completed: error = nil
        case .cancelled: error = Self.cancelledError
        default: error = job.lastError
        }
        self.init(
            success: job.status == .completed, status: job.status, result: job.result,
            resultPointer: job.resultPointer, error: error)
    }

    /// Decodes the result into a Codable type.
    public func decodeResult<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueCoding.decode(T.self, from: result ?? .null)
    }
}
