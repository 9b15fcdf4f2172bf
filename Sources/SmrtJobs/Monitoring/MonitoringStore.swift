import Foundation

/// What a dashboard and the supervisor's progress reports need of a store beyond `JobStore`: the latest
/// progress of running jobs, finished jobs per minute, and job pages by id (keyset) with filters.
/// Every backend's store conforms (checked by the conformance suite); reach it with `store as? any MonitoringStore`.
public protocol MonitoringStore: AnyObject, Sendable {
    /// Stores each update on its job if the job is still running under `workerId`; others are skipped. One
    /// transaction. Returns how many were stored. Never wakes claimers (no change signal).
    @discardableResult
    func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int

    /// Jobs that finished for good at or after `since` (completed and failed, by `completedAt`), per minute
    /// (minute = the UTC minute that holds `completedAt`), oldest first; minutes with neither are left out.
    func finishedPerMinute(since: Date) throws -> [MinuteTally]

    /// One page of jobs, newest first (id DESC), matching `query`, starting below `query.beforeId`.
    /// Reads at most `query.scanLimit` rows of the table past the cursor, so a filter that matches few jobs
    /// answers in bounded time: the page may then hold fewer than `limit` jobs with `nextBeforeId` set.
    func jobPage(_ query: JobPageQuery) throws -> JobPage
}

/// Completed and failed-for-good jobs of one minute.
public struct MinuteTally: Sendable, Equatable, Codable {
    /// The start of the minute (UTC, whole minute).
    public var minute: Date
    public var completed: Int
    public var failed: Int
    public init(minute: Date, completed: Int, failed: Int) {
        self.minute = minute
        self.completed = completed
        self.failed = failed
    }
}

/// Filters and cursor for `MonitoringStore.jobPage`.
public struct JobPageQuery: Sendable, Equatable {
    /// Jobs in any of these statuses; empty: every status.
    public var statuses: [JobStatus]
    public var queue: String?
    public var objectType: String?
    /// Jobs whose `lastError` contains this text (case-insensitive for ASCII letters).
    public var errorContains: String?
    /// Only jobs with a smaller id (the previous page's `nextBeforeId`); nil: from the newest.
    public var beforeId: Int64?
    public var limit: Int
    /// The most rows the store examines past the cursor for one page.
    public var scanLimit: Int

    public init(
        statuses: [JobStatus] = [], queue: String? = nil, objectType: String? = nil, errorContains: String? = nil,
        beforeId: Int64? = nil, limit: Int = 50, scanLimit: Int = 20_000
    ) {
        self.statuses = statuses
        self.queue = queue
        self.objectType = objectType
        self.errorContains = errorContains
        self.beforeId = beforeId
        self.limit = limit
        self.scanLimit = scanLimit
    }

    /// Whether `job` matches the filters (not the cursor): the memory store's filter; SQL stores say the same in WHERE.
    public func matches(_ job: SmrtJob) -> Bool {
        if !statuses.isEmpty && !statuses.contains(job.status) { return false }
        if let queue, job.queue != queue { return false }
        if let objectType, job.objectType != objectType { return false }
        if let errorContains, !errorContains.isEmpty {
            guard let error = job.lastError, error.range(of: errorContains, options: .caseInsensitive) != nil else {
                return false
            }
        }
        return true
    }
}

/// A page of `MonitoringStore.jobPage`.
public struct JobPage: Sendable, Equatable {
    public var jobs: [SmrtJob]
    /// Where the next page starts (pass as `beforeId`), or nil when no older job can match.
    public var nextBeforeId: Int64?
    /// True when the store stopped at `scanLimit` rows before filling the page: older matches may exist past
    /// `nextBeforeId`.
    public var scanLimitReached: Bool
    public init(jobs: [SmrtJob], nextBeforeId: Int64?, scanLimitReached: Bool) {
        self.jobs = jobs
        self.nextBeforeId = nextBeforeId
        self.scanLimitReached = scanLimitReached
    }
}
