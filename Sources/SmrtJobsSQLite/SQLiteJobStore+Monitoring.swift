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

    /// A range of `_smrt_jobs_finished` (status, completed_at) per status, counted inside the index; the minute is
    /// the first 16 characters of the stored time (`2026-11-29T06:54`).
    static let finishedPerMinuteSQL = """
        SELECT status, substr(completed_at, 1, 16), count(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_finished \
        WHERE status IN ('completed', 'failed') AND completed_at >= ?1 AND completed_at IS NOT NULL \
        GROUP BY status, substr(completed_at, 1, 16)
        """

    public func finishedPerMinute(since: Date) throws -> [MinuteTally] {
        try locked { connection in
            try connection.withStatement(Self.finishedPerMinuteSQL) { s in
                try s.bind(since, 1)
                var tallies: [Date: MinuteTally] = [:]
                while try s.step() {
                    guard let minuteText = s.string(1), let minute = Timestamp.parse(minuteText + ":00.000Z") else { continue }
                    var tally = tallies[minute] ?? MinuteTally(minute: minute, completed: 0, failed: 0)
                    if s.string(0) == JobStatus.completed.rawValue { tally.completed += s.int(2) } else { tally.failed += s.int(2) }
                    tallies[minute] = tally
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
        let statuses = query.statusFilter
        if query.indexedStatus == nil, !statuses.isEmpty {
            // Literals from the enum, not input: the statement cache holds one text per combination.
            conditions.append("status IN (\(statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")))")
        }
        if query.queue != nil { conditions.append("queue = ?4") }
        if query.objectType != nil { conditions.append("object_type = ?5") }
        // SQLite's lower() folds ASCII letters only, as `JobPageQuery.matches` does.
        if query.errorFilter != nil { conditions.append("instr(lower(last_error), lower(?6)) > 0") }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return """
            SELECT \(jobColumns) FROM _smrt_jobs WHERE id IN (SELECT id FROM (SELECT id, status, queue, object_type, \
            last_error FROM \(pageSource(query.indexedStatus)) id < ?1 ORDER BY id DESC LIMIT ?2)\(filter) LIMIT ?3) \
            ORDER BY id DESC
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
