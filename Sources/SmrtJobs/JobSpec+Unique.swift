import Foundation

/// Unique jobs: one pending or running job per key (see `JobSpec.uniqueKey`).
extension JobSpec {
    /// The longest unique key, in bytes of UTF-8.
    public static let maxUniqueKeyBytes = 255

    /// Throws `SmrtJobsError.invalidValue` naming `uniqueKey` (empty, or longer than `maxUniqueKeyBytes`) or
    /// `uniqueWindow` (negative, or given without a key).
    func validateUnique() throws {
        if let uniqueKey {
            if uniqueKey.isEmpty {
                throw SmrtJobsError.invalidValue(field: "uniqueKey", value: "", reason: "must not be empty")
            }
            let bytes = uniqueKey.utf8.count
            if bytes > Self.maxUniqueKeyBytes {
                throw SmrtJobsError.invalidValue(
                    field: "uniqueKey", value: String(uniqueKey.prefix(40)) + "…",
                    reason: "is \(bytes) bytes long; at most \(Self.maxUniqueKeyBytes) bytes of UTF-8")
            }
        }
        if let uniqueWindow {
            if uniqueWindow < 0 {
                throw SmrtJobsError.invalidValue(
                    field: "uniqueWindow", value: String(uniqueWindow), reason: "must be zero or positive milliseconds")
            }
            if uniqueKey == nil {
                throw SmrtJobsError.invalidValue(
                    field: "uniqueWindow", value: String(uniqueWindow), reason: "needs a uniqueKey")
            }
        }
    }

    /// The earliest finish time of a job with this key that still counts as existing at `now`, or nil when
    /// only pending and running jobs count.
    public func uniqueWindowStart(now: Date) -> Date? {
        guard uniqueKey != nil, let uniqueWindow else { return nil }
        return now.addingTimeInterval(-Double(uniqueWindow) / 1000)
    }
}

/// One job of `JobStore.enqueueReportingExisting(batch:now:)`: its id, and whether it was there already.
public struct EnqueuedJob: Sendable, Equatable {
    public var id: Int64
    /// True when the spec's unique key matched a job already stored (nothing was inserted for it).
    public var existing: Bool
    public init(id: Int64, existing: Bool) {
        self.id = id
        self.existing = existing
    }
}

/// Which jobs a bulk action (`JobStore.retryJobs`, `cancelJobs`) takes.
public struct JobFilter: Sendable, Equatable {
    /// Jobs in any of these statuses (none: no jobs).
    public var statuses: [JobStatus]
    public var queue: String?
    public var objectType: String?
    /// Only with `objectType`: jobs calling this method.
    public var method: String?
    /// Jobs that finished (completedAt) at or after this time, or, never finished, changed (updatedAt) at or after it.
    public var since: Date?
    /// Jobs with a larger id only: the cursor of a bulk action that goes batch by batch.
    public var afterId: Int64?

    public init(
        statuses: [JobStatus], queue: String? = nil, objectType: String? = nil, method: String? = nil,
        since: Date? = nil, afterId: Int64? = nil
    ) {
        self.statuses = statuses
        self.queue = queue
        self.objectType = objectType
        self.method = method
        self.since = since
        self.afterId = afterId
    }

    /// Whether `job` matches (the memory store's filter; the SQL stores say the same in WHERE).
    public func matches(_ job: SmrtJob) -> Bool {
        guard statuses.contains(job.status) else { return false }
        if let afterId, job.id <= afterId { return false }
        if let queue, job.queue != queue { return false }
        if let objectType, job.objectType != objectType { return false }
        if let method, job.method != method { return false }
        if let since, (job.completedAt ?? job.updatedAt) < since { return false }
        return true
    }
}

/// What one batch of a bulk action did.
public struct BulkActionResult: Sendable, Equatable {
    /// The jobs changed (with `dryRun`: that would be), ascending.
    public var ids: [Int64]
    /// Jobs that matched but were left alone: for retry, those whose unique key another pending or running job
    /// holds (or an earlier job of the same batch took).
    public var skipped: [Int64]
    /// The largest id this batch looked at, nil when none matched: the next batch passes it as `afterId`.
    public var lastId: Int64?

    public init(ids: [Int64], skipped: [Int64] = [], lastId: Int64?) {
        self.ids = ids
        self.skipped = skipped
        self.lastId = lastId
    }
}
