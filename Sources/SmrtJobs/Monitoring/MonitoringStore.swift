import Foundation

/// What a dashboard and the supervisor's progress reports need of a store beyond `JobStore`: the latest
/// progress of running jobs, finished jobs per minute, and job pages by id (keyset) with filters.
/// Every backend's store conforms (checked by the conformance suite); reach it with `store as? any MonitoringStore`.
public protocol MonitoringStore: AnyObject, Sendable {
    /// Stores each update on its job if the job is still running under `workerId`; others are skipped (a job
    /// named twice keeps its last update, counted once). One transaction. Returns how many were stored.
    /// Wakes no claimer: PostgreSQL sends no notification, the memory store fires no change. SQLite's change
    /// signal watches the file's `data_version`, which every commit moves, so a signal (the writer's own too) may
    /// still see it and look for work once; a supervisor batches progress into its finish-and-claim commit
    /// (`finish(_:recordingProgress:…)`), which wakes it anyway.
    @discardableResult
    func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int

    /// The supervisor's group commit with progress: `recordProgress(progress)`, then `finish(reports)` and
    /// `claim(limit:queues:)`, for the same `workerId`, in one transaction where the store can (SQLite,
    /// PostgreSQL and memory do). Progress first, so a job that reports and ends in one commit ends with its
    /// last progress. A default implementation (for stores that are also a `JobStore`) runs `recordProgress`
    /// and then `JobStore.finish(_:workerId:now:thenClaim:queues:)`.
    func finish(
        _ reports: [AttemptReport], recordingProgress progress: [ProgressUpdate], workerId: String, now: Date,
        thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob])

    /// Jobs that finished for good at or after `since` (completed and failed, by `completedAt`), per minute
    /// (minute = the UTC minute that holds `completedAt`), oldest first; minutes with neither are left out.
    func finishedPerMinute(since: Date) throws -> [MinuteTally]

    /// One page of jobs, newest first (id DESC), matching `query`, starting below `query.beforeId`; never an
    /// OFFSET. Reads at most `query.scanLimit` rows past the cursor, so a filter that matches few jobs answers in
    /// bounded time: the page may then hold fewer than `limit` jobs with `nextBeforeId` set. The rows read are
    /// those of the table, except for a filter on one status that is rare and kept in an index of its own
    /// (`JobPageQuery.indexedStatus`: failed, cancelled, running), where they are the rows of that status, so
    /// such a page is exact however few of the table's rows they are.
    /// - Throws: `SmrtJobsError.invalidValue` for a `limit` or `scanLimit` below 1.
    func jobPage(_ query: JobPageQuery) throws -> JobPage
}

extension MonitoringStore where Self: JobStore {
    public func finish(
        _ reports: [AttemptReport], recordingProgress progress: [ProgressUpdate], workerId: String, now: Date,
        thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        try recordProgress(progress, workerId: workerId)
        return try finish(reports, workerId: workerId, now: now, thenClaim: limit, queues: queues)
    }
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
    /// Jobs whose `lastError` contains this text (case-insensitive for ASCII letters only, as SQL's `lower` is;
    /// other characters match exactly, byte for byte). Empty: no filter.
    public var errorContains: String?
    /// Only jobs with a smaller id (the previous page's `nextBeforeId`); nil: from the newest.
    public var beforeId: Int64?
    public var limit: Int
    /// The most rows the store examines past the cursor for one page (see `MonitoringStore.jobPage`). The default,
    /// 10,000, keeps a page whose filter matches nothing near 10 ms on SQLite and 15 ms on PostgreSQL
    /// (docs/performance.md, "Dashboard reads").
    public var scanLimit: Int

    public init(
        statuses: [JobStatus] = [], queue: String? = nil, objectType: String? = nil, errorContains: String? = nil,
        beforeId: Int64? = nil, limit: Int = 50, scanLimit: Int = 10_000
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
            guard let error = job.lastError, Self.asciiCaseInsensitive(error, contains: errorContains) else { return false }
        }
        return true
    }

    /// Whether `text` holds `part`, comparing UTF-8 bytes with ASCII letters folded to lower case (SQLite's
    /// `instr(lower(…), lower(…))`, PostgreSQL's `strpos` of `lower(… COLLATE "C")`).
    static func asciiCaseInsensitive(_ text: String, contains part: String) -> Bool {
        func folded(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }
        let haystack = text.utf8.map(folded), needle = part.utf8.map(folded)
        if needle.isEmpty { return true }
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
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
