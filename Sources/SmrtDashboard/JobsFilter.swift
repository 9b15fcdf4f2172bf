import Foundation
import SmrtJobs

/// The filters and cursor of the Jobs page and `/api/jobs`: `status`, `queue`, `type` (the object type), `error`
/// (text in the last error) and `before` (a job id: the page starts below it).
struct JobsFilter: Sendable, Equatable {
    var status: JobStatus?
    var queue: String?
    var type: String?
    var error: String?
    var before: Int64?

    /// The parameters as they come in a query string or a form (each optional; empty means unset).
    struct Parameters: Decodable, Sendable {
        var status: String?
        var queue: String?
        var type: String?
        var error: String?
        var before: String?

        init(status: String? = nil, queue: String? = nil, type: String? = nil, error: String? = nil, before: String? = nil) {
            self.status = status
            self.queue = queue
            self.type = type
            self.error = error
            self.before = before
        }
    }

    static let maxTextLength = 200

    /// - Throws: `APIError` 400 naming the parameter: an unknown status, a `before` that is not a positive id,
    ///   a text longer than `maxTextLength`.
    init(_ parameters: Parameters) throws {
        func text(_ name: String, _ value: String?) throws -> String? {
            guard let value, !value.isEmpty else { return nil }
            guard value.count <= Self.maxTextLength else {
                throw APIError.badParameter(name, value, "at most \(Self.maxTextLength) characters")
            }
            return value
        }
        if let status = try text("status", parameters.status) {
            guard let parsed = JobStatus(rawValue: status.lowercased()) else {
                throw APIError.badParameter(
                    "status", status, "expected one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.status = parsed
        }
        queue = try text("queue", parameters.queue)
        type = try text("type", parameters.type)
        error = try text("error", parameters.error)
        if let before = try text("before", parameters.before) {
            guard let id = Int64(before), id > 0 else { throw APIError.badParameter("before", before, "expected a job id (a positive integer)") }
            self.before = id
        }
    }

    init(status: JobStatus? = nil, queue: String? = nil, type: String? = nil, error: String? = nil, before: Int64? = nil) {
        self.status = status
        self.queue = queue
        self.type = type
        self.error = error
        self.before = before
    }

    func pageQuery(limit: Int, scanLimit: Int) -> JobPageQuery {
        JobPageQuery(
            statuses: status.map { [$0] } ?? [], queue: queue, objectType: type, errorContains: error, beforeId: before,
            limit: limit, scanLimit: scanLimit)
    }

    /// The query string of this filter, starting below `before` (nil: from the newest).
    func queryString(before: Int64?) -> String {
        URLQuery.string([
            ("status", status?.rawValue), ("queue", queue), ("type", type), ("error", error), ("before", before.map(String.init)),
        ])
    }

    var isFiltered: Bool { status != nil || queue != nil || type != nil || error != nil }
}
