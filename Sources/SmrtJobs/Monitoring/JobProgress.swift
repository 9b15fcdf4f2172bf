import Foundation

/// How far a running job has got, as it last reported (Swift: `context.progress(0.42, "page 21 of 50")`; other
/// languages: the protocol's PROGRESS frame, `{"fraction":0.42,"message":"page 21 of 50"}`).
public struct JobProgress: Sendable, Equatable, Codable {
    /// 0 … 1.
    public var fraction: Double
    /// A short text for people (at most `maxMessageBytes` UTF-8 bytes), or nil.
    public var message: String?
    /// When the supervisor received it.
    public var updatedAt: Date

    /// The longest message kept; a longer one is a protocol error, not cut silently.
    public static let maxMessageBytes = 1_000

    public init(fraction: Double, message: String? = nil, updatedAt: Date) {
        self.fraction = fraction
        self.message = message
        self.updatedAt = updatedAt
    }

    /// Reads a PROGRESS frame's JSON (`{"fraction": 0…1, "message": "…"}`, message optional, other keys ignored).
    /// - Throws: `SmrtJobsError.invalidValue` naming the field: not a JSON object, `fraction` missing, not a number
    ///   or outside 0…1, `message` not a string or too long.
    public static func parse(json text: String, receivedAt: Date) throws -> JobProgress {
        guard let value = try? JSONValue.parse(text), let object = value.objectValue else {
            throw SmrtJobsError.invalidValue(field: "progress", value: String(text.prefix(80)), reason: "not a JSON object")
        }
        guard let fractionValue = object["fraction"] else {
            throw SmrtJobsError.invalidValue(field: "progress.fraction", value: "", reason: "missing")
        }
        guard let fraction = fractionValue.doubleValue, fraction.isFinite else {
            throw SmrtJobsError.invalidValue(field: "progress.fraction", value: fractionValue.jsonText, reason: "not a number")
        }
        guard (0...1).contains(fraction) else {
            throw SmrtJobsError.invalidValue(field: "progress.fraction", value: "\(fraction)", reason: "outside 0…1")
        }
        var message: String?
        switch object["message"] {
        case nil, .null?: message = nil
        case .string(let text)?:
            guard text.utf8.count <= maxMessageBytes else {
                throw SmrtJobsError.invalidValue(
                    field: "progress.message", value: String(text.prefix(40)),
                    reason: "\(text.utf8.count) bytes; at most \(maxMessageBytes)")
            }
            message = text
        default:
            throw SmrtJobsError.invalidValue(field: "progress.message", value: object["message"]?.jsonText ?? "", reason: "not a string")
        }
        return JobProgress(fraction: fraction, message: message, updatedAt: receivedAt)
    }
}

/// The latest progress of one running job, for `MonitoringStore.recordProgress`.
public struct ProgressUpdate: Sendable, Equatable {
    public var jobId: Int64
    public var progress: JobProgress
    public init(jobId: Int64, progress: JobProgress) {
        self.jobId = jobId
        self.progress = progress
    }
}
