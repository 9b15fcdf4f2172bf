import Foundation
import SmrtJobs

/// Progress of running jobs, finished jobs per minute and job pages (the dashboard's reads).
extension PostgresJobStore: MonitoringStore {
    /// Every update in one statement (one round trip), joined on id; a job not running under the worker is left
    /// alone. No `pg_notify`: progress makes no job claimable.
    private static let progressSQL = """
        UPDATE _smrt_jobs AS j SET progress = u.progress::jsonb \
        FROM unnest($1::bigint[], $2::text[]) AS u(id, progress) \
        WHERE j.id = u.id AND j.worker_id = $3::text AND j.status = 'running'
        """

    @discardableResult
    public func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int {
        if updates.isEmpty { return 0 }
        return try locked { connection in try progressRows(updates, workerId: workerId, connection) }
    }

    /// One transaction: the progress, the results, then the claim (the supervisor's group commit).
    public func finish(
        _ reports: [AttemptReport], recordingProgress progress: [ProgressUpdate], workerId: String, now: Date,
        thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        if progress.isEmpty { return try finish(reports, workerId: workerId, now: now, thenClaim: limit, queues: queues) }
        return try locked { connection in
            try connection.transaction {
                try progressRows(progress, workerId: workerId, connection)
                let finished = reports.isEmpty ? [] : try finishRows(reports, workerId: workerId, now: now, connection)
                let claimed = try claimRows(workerId: workerId, limit: limit, queues: queues, now: now, connection)
                return (finished, claimed)
            }
        }
    }

    /// The progress (in the caller's transaction, if any): how many jobs took it.
    @discardableResult
    private func progressRows(_ updates: [ProgressUpdate], workerId: String, _ connection: PostgresConnection) throws -> Int {
        if updates.isEmpty { return 0 }
        // One row per job: UPDATE … FROM takes an arbitrary one of several matching rows.
        let latest = ProgressUpdate.latestPerJob(updates)
        return try connection.query(
            Self.progressSQL,
            [
                Self.array(latest.map { String($0.jobId) }), Self.array(latest.map { $0.progress.storedJSON.jsonText }),
                workerId,
            ]
        ).affectedRows
    }

    /// A range of `_smrt_jobs_finished` (status, completed_at) per status, an index-only scan (the comparison on
    /// completed_at implies the index's `completed_at IS NOT NULL`), grouped by the UTC minute (the session's time
    /// zone is UTC).
    static let finishedPerMinuteSQL = """
        SELECT date_trunc('minute', completed_at), count(*) FILTER (WHERE status = 'completed'), \
        count(*) FILTER (WHERE status = 'failed') FROM _smrt_jobs \
        WHERE status IN ('completed', 'failed') AND completed_at >= $1::timestamptz GROUP BY 1
        """

    /// The planner cannot know that `date_trunc` leaves a few groups (it guesses one per row), so it would sort
    /// every finish of the period, spilling to disk (25 MB for the 940,000 of a busy hour, 2-3 s): sorts are off
    /// for this statement, which leaves a hash of one entry per minute. JIT compiling (this estimate crosses its
    /// threshold) costs more than it saves here.
    public func finishedPerMinute(since: Date) throws -> [MinuteTally] {
        try locked { connection in
            try connection.transaction {
                try connection.exec("SET LOCAL enable_sort = off; SET LOCAL jit = off")
                return try connection.query(Self.finishedPerMinuteSQL, [Self.text(since)]).rows.compactMap { row in
                    row.date(0).map { MinuteTally(minute: $0, completed: row.int(1), failed: row.int(2)) }
                }.sorted { $0.minute < $1.minute }
            }
        }
    }

    /// The rows a page reads, newest first from the cursor ($1), at most $2 of them: the table by its primary key,
    /// or the partial index of `query.indexedStatus` (running: `_smrt_jobs_running_worker`, few rows, sorted).
    /// Every page statement continues this WHERE with `id < $1`.
    private static func pageSource(_ status: JobStatus?) -> String {
        guard let status else { return "_smrt_jobs WHERE" }
        return "_smrt_jobs WHERE status = '\(status.rawValue)' AND"
    }

    public func jobPage(_ query: JobPageQuery) throws -> JobPage {
        try query.validate()
        let source = Self.pageSource(query.indexedStatus)
        let before = Self.text(query.beforeId ?? .max)
        var parameters: [String?] = [before, Self.text(query.scanLimit), Self.text(query.limit + 1)]
        var conditions: [String] = []
        func add(_ condition: (String) -> String, _ value: String) {
            parameters.append(value)
            conditions.append(condition("$\(parameters.count)"))
        }
        let statuses = query.statusFilter
        if query.indexedStatus == nil, !statuses.isEmpty {
            add({ "status = ANY(\($0)::text[])" }, Self.array(statuses.map(\.rawValue)))
        }
        if let queue = query.queue { add({ "queue = \($0)::text" }, queue) }
        if let objectType = query.objectType { add({ "object_type = \($0)::text" }, objectType) }
        // lower() under the "C" collation folds ASCII letters only, as `JobPageQuery.matches` does.
        if let text = query.errorFilter { add({ "strpos(lower(last_error COLLATE \"C\"), lower(\($0)::text COLLATE \"C\")) > 0" }, text) }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        // The window streams newest first and the outer LIMIT stops it at the ($3)-th match: the subquery's order is
        // the outer ORDER BY, so nothing is sorted but the few running rows.
        let sql = """
            SELECT \(Self.jobColumns) FROM (SELECT \(Self.jobColumns) FROM \(source) id < $1::bigint \
            ORDER BY id DESC LIMIT $2::bigint) AS w\(filter) ORDER BY id DESC LIMIT $3::bigint
            """
        return try locked { connection in
            let matches = try selectJobs(connection, sql, parameters)
            return try JobPage.assemble(
                matches, query,
                window: {
                    let row = try connection.query(
                        "SELECT count(*), min(id) FROM (SELECT id FROM \(source) id < $1::bigint ORDER BY id DESC LIMIT $2::bigint) AS w",
                        [before, Self.text(query.scanLimit)]
                    ).row(0)
                    return (row.int(0), row.isNull(1) ? nil : row.int64(1))
                },
                hasOlder: { id in
                    try connection.query("SELECT EXISTS (SELECT 1 FROM \(source) id < $1::bigint)", [Self.text(id)]).row(0).bool(0)
                })
        }
    }
}
