import Foundation
import SmrtJobs

/// Progress of running jobs, finished jobs per minute and job pages (the dashboard's reads).
extension SQLiteJobStore: MonitoringStore {
    private static let progressSQL = """
        UPDATE _smrt_jobs SET progress = ?1 WHERE id = ?2 AND worker_id = ?3 AND status = 'running'
        """

    /// The write moves the file's `data_version`, which SQLite's change signals watch: see
    /// `MonitoringStore.recordProgress`.
    @discardableResult
    public func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int {
        if updates.isEmpty { return 0 }
        return try locked { connection in
            try connection.transaction { try progressRows(updates, workerId: workerId, connection) }
        }
    }

    /// One transaction: the progress, the results, then the claim (the supervisor's group commit).
    public func finish(
        _ reports: [AttemptReport], recordingProgress progress: [ProgressUpdate], workerId: String, now: Date,
        thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        if reports.isEmpty && progress.isEmpty && limit <= 0 { return ([], []) }
        return try locked { connection in
            try connection.transaction {
                try progressRows(progress, workerId: workerId, connection)
                let finished = try finishRows(reports, workerId: workerId, now: now, connection)
                let claimed = try claimRows(workerId: workerId, limit: limit, queues: queues, now: now, connection)
                return (finished, claimed)
            }
        }
    }

    /// The progress inside the caller's transaction: one conditional UPDATE by primary key per job.
    @discardableResult
    private func progressRows(_ updates: [ProgressUpdate], workerId: String, _ connection: SQLiteConnection) throws -> Int {
        var stored = 0
        for update in ProgressUpdate.latestPerJob(updates) {
            stored += try connection.run(Self.progressSQL) { s in
                try s.bind(update.progress.storedJSON.jsonText, 1)
                try s.bind(update.jobId, 2)
                try s.bind(workerId, 3)
            }
        }
        return stored
    }

    /// The first finish of a status at or after ?2: one descent of `_smrt_jobs_finished` (status, completed_at).
    static let nextFinishSQL = """
        SELECT min(completed_at) FROM _smrt_jobs INDEXED BY _smrt_jobs_finished \
        WHERE status = ?1 AND completed_at >= ?2 AND completed_at IS NOT NULL
        """
    /// The finishes of a status in [?2, ?3): a range of the same index, counted inside it.
    static let finishedInRangeSQL = """
        SELECT count(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_finished \
        WHERE status = ?1 AND completed_at >= ?2 AND completed_at < ?3 AND completed_at IS NOT NULL
        """

    /// Per status, minute by minute: find the next finish, count its minute's range, go on after that minute. A
    /// GROUP BY of the minute would sort every finish of the period (2 s for the 940,000 of a busy hour; this:
    /// the count of those index entries, and two descents per minute that has some).
    public func finishedPerMinute(since: Date) throws -> [MinuteTally] {
        try locked { connection in
            try connection.transaction(immediate: false) {
                var tallies: [Date: MinuteTally] = [:]
                for status in [JobStatus.completed, .failed] {
                    var cursor = since
                    while true {
                        let next = try connection.withStatement(Self.nextFinishSQL) { s -> Date? in
                            try s.bind(status.rawValue, 1)
                            try s.bind(cursor, 2)
                            return try s.step() ? s.date(0) : nil
                        }
                        guard let next else { break }
                        let minute = Date(timeIntervalSince1970: (next.timeIntervalSince1970 / 60).rounded(.down) * 60)
                        let end = minute.addingTimeInterval(60)
                        let count = try connection.withStatement(Self.finishedInRangeSQL) { s -> Int in
                            try s.bind(status.rawValue, 1)
                            try s.bind(next, 2)
                            try s.bind(end, 3)
                            return try s.step() ? s.int(0) : 0
                        }
                        var tally = tallies[minute] ?? MinuteTally(minute: minute, completed: 0, failed: 0)
                        if status == .completed { tally.completed += count } else { tally.failed += count }
                        tallies[minute] = tally
                        cursor = end
                    }
                }
                return tallies.values.sorted { $0.minute < $1.minute }
            }
        }
    }

    /// The rows a page reads, newest first from the cursor (?1), at most ?2 of them: the table by its primary key,
    /// or the index of `query.indexedStatus`. Every page statement starts with this text and its WHERE.
    static func pageSource(_ status: JobStatus?) -> String {
        switch status {
        case .failed?: return "_smrt_jobs INDEXED BY _smrt_jobs_failed WHERE status = 'failed' AND"
        case .cancelled?: return "_smrt_jobs INDEXED BY _smrt_jobs_cancelled WHERE status = 'cancelled' AND"
        // Few rows: all of them are read through their index and sorted.
        case .running?: return "_smrt_jobs INDEXED BY _smrt_jobs_running_worker WHERE status = 'running' AND"
        default: return "_smrt_jobs WHERE"
        }
    }

    /// The page: a window of at most ?2 rows below ?1 (a co-routine that yields them newest first, only the columns
    /// the filters read), the first ?3 of them that match, then those rows in full by primary key. The middle
    /// SELECT has no ORDER BY of its own on purpose: one would sort the whole window before the LIMIT; the
    /// co-routine already yields in id order, so it stops at the ?3-th match.
    static func pageSQL(_ query: JobPageQuery) -> String {
        var conditions: [String] = []
        // The window yields only what the filters read: every column costs a step of every row of a sparse page.
        var columns = ["id"]
        let statuses = query.statusFilter
        if query.indexedStatus == nil, !statuses.isEmpty {
            // Literals from the enum, not input: the statement cache holds one text per combination.
            conditions.append("status IN (\(statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")))")
            columns.append("status")
        }
        if query.queue != nil {
            conditions.append("queue = ?4")
            columns.append("queue")
        }
        if query.objectType != nil {
            conditions.append("object_type = ?5")
            columns.append("object_type")
        }
        if query.errorFilter != nil {
            // SQLite's lower() folds ASCII letters only, as `JobPageQuery.matches` does.
            conditions.append("instr(lower(last_error), lower(?6)) > 0")
            columns.append("last_error")
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return """
            SELECT \(jobColumns) FROM _smrt_jobs WHERE id IN (SELECT id FROM (SELECT \(columns.joined(separator: ", ")) \
            FROM \(pageSource(query.indexedStatus)) id < ?1 ORDER BY id DESC LIMIT ?2)\(filter) LIMIT ?3) ORDER BY id DESC
            """
    }

    public func jobPage(_ query: JobPageQuery) throws -> JobPage {
        try query.validate()
        let source = Self.pageSource(query.indexedStatus)
        let before = query.beforeId ?? .max
        // One read transaction: the statements see one snapshot.
        return try locked { connection in try connection.transaction(immediate: false) {
            let matches = try selectJobs(Self.pageSQL(query), connection) { s in
                try s.bind(before, 1)
                try s.bind(query.scanLimit, 2)
                try s.bind(query.limit + 1, 3)
                if let queue = query.queue { try s.bind(queue, 4) }
                if let objectType = query.objectType { try s.bind(objectType, 5) }
                if let text = query.errorFilter { try s.bind(text, 6) }
            }
            return try JobPage.assemble(
                matches, query,
                window: {
                    try connection.withStatement(
                        "SELECT count(*), min(id) FROM (SELECT id FROM \(source) id < ?1 ORDER BY id DESC LIMIT ?2)"
                    ) { s in
                        try s.bind(before, 1)
                        try s.bind(query.scanLimit, 2)
                        _ = try s.step()
                        return (s.int(0), s.isNull(1) ? nil : s.int64(1))
                    }
                },
                hasOlder: { id in
                    try connection.withStatement("SELECT EXISTS (SELECT 1 FROM \(source) id < ?1)") { s in
                        try s.bind(id, 1)
                        return try s.step() && s.int(0) == 1
                    }
                })
        } }
    }
}
