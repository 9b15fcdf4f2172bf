import Foundation
import SmrtJobs

/// Reading jobs, counting them, deleting old ones.
extension PostgresJobStore {
    public func get(id: Int64) throws -> SmrtJob? {
        try locked { connection in
            try selectJobs(connection, "SELECT \(Self.jobColumns) FROM _smrt_jobs WHERE id = $1::bigint", [Self.text(id)]).first
        }
    }

    /// Newest first (id DESC); `status` and `queue` filters combine.
    public func list(_ query: JobQuery) throws -> [SmrtJob] {
        var parameters: [String?] = [Self.text(query.limit), Self.text(max(0, query.offset))]
        var conditions: [String] = []
        if let status = query.status {
            parameters.append(status.rawValue)
            conditions.append("status = $\(parameters.count)::text")
        }
        if let queue = query.queue {
            parameters.append(queue)
            conditions.append("queue = $\(parameters.count)::text")
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.jobColumns) FROM _smrt_jobs\(filter) ORDER BY id DESC LIMIT $1::bigint OFFSET $2::bigint"
        return try locked { connection in try selectJobs(connection, sql, parameters) }
    }

    public func stats(queue: String?) throws -> JobStats {
        let sql = queue == nil
            ? "SELECT status, count(*) FROM _smrt_jobs GROUP BY status"
            : "SELECT status, count(*) FROM _smrt_jobs WHERE queue = $1::text GROUP BY status"
        return try locked { connection in
            var stats = JobStats()
            for row in try connection.query(sql, queue.map { [$0] } ?? []).rows {
                let count = row.int(1)
                switch row.string(0).flatMap(JobStatus.init(rawValue:)) {
                case .pending: stats.pending += count
                case .running: stats.running += count
                case .completed: stats.completed += count
                case .failed: stats.failed += count
                case .cancelled: stats.cancelled += count
                case nil: break
                }
            }
            return stats
        }
    }

    /// Deletes the oldest finished jobs first (by completed_at), completed, then failed, then cancelled, until
    /// `limit` is reached. Also forgets schedule fires older than the earliest cutoff (they only guard slots
    /// that can no longer come back). Jobs without completed_at are never deleted.
    public func cleanup(_ options: CleanupOptions, now: Date) throws -> Int {
        let cutoffs: [(JobStatus, Date)] = [
            (.completed, options.completedBefore), (.failed, options.failedBefore), (.cancelled, options.cancelledBefore),
        ].compactMap { status, date in date.map { (status, $0) } }
        if cutoffs.isEmpty { return 0 }
        // A NULL limit is no limit.
        let sql = options.dryRun
            ? """
            SELECT count(*) FROM (SELECT 1 FROM _smrt_jobs WHERE status = $1::text AND completed_at < $2::timestamptz \
            LIMIT $3::bigint) AS matching
            """
            : """
            DELETE FROM _smrt_jobs WHERE id IN (SELECT id FROM _smrt_jobs WHERE status = $1::text \
            AND completed_at < $2::timestamptz ORDER BY completed_at LIMIT $3::bigint)
            """
        return try locked { connection in
            try connection.transaction {
                var total = 0
                for (status, cutoff) in cutoffs {
                    var remaining: Int?
                    if let limit = options.limit {
                        remaining = max(0, limit - total)
                        if remaining == 0 { break }
                    }
                    let result = try connection.query(sql, [status.rawValue, Self.text(cutoff), remaining.map(Self.text)])
                    total += options.dryRun ? result.row(0).int(0) : result.affectedRows
                }
                if !options.dryRun, let earliest = cutoffs.map(\.1).min() {
                    try connection.query("DELETE FROM _smrt_schedule_fires WHERE fired_at < $1::timestamptz", [Self.text(earliest)])
                }
                return total
            }
        }
    }

    /// Pending due jobs in claim order, as `claim` would take them, at most `limit`.
    public func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        if limit == 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        var parameters: [String?] = [Self.text(limit), Self.text(now)]
        var filter = ""
        if let queues {
            parameters.append(Self.array(queues))
            filter = " AND queue = ANY($3::text[])"
        }
        let sql = """
            SELECT \(Self.jobColumns) FROM _smrt_jobs WHERE status = 'pending' AND run_at <= $2::timestamptz\(filter) \
            ORDER BY priority DESC, run_at, id LIMIT $1::bigint
            """
        return try locked { connection in try selectJobs(connection, sql, parameters) }
    }

    /// A loose index scan of a claim index (a recursive CTE): for each priority in use (found by seeking below the
    /// one before) the first `run_at` after `after` is one seek, so the cost grows with the number of priorities
    /// (and queues), not of pending jobs.
    public func soonestRunAt(after: Date, queues: [String]?) throws -> Date? {
        if let queues, queues.isEmpty { return nil }
        var parameters: [String?] = [Self.text(after)]
        let sql: String
        if let queues {
            parameters.append(Self.array(queues))
            sql = """
                WITH RECURSIVE levels(queue, priority) AS (\
                SELECT wanted.name, (SELECT j.priority FROM _smrt_jobs j WHERE j.status = 'pending' AND j.queue = wanted.name \
                ORDER BY j.priority DESC LIMIT 1) FROM unnest($2::text[]) AS wanted(name) \
                UNION ALL \
                SELECT levels.queue, (SELECT j.priority FROM _smrt_jobs j WHERE j.status = 'pending' AND j.queue = levels.queue \
                AND j.priority < levels.priority ORDER BY j.priority DESC LIMIT 1) FROM levels WHERE levels.priority IS NOT NULL) \
                SELECT min((SELECT j.run_at FROM _smrt_jobs j WHERE j.status = 'pending' AND j.queue = levels.queue \
                AND j.priority = levels.priority AND j.run_at > $1::timestamptz ORDER BY j.run_at LIMIT 1)) \
                FROM levels WHERE levels.priority IS NOT NULL
                """
        } else {
            sql = """
                WITH RECURSIVE levels(priority) AS (\
                SELECT (SELECT j.priority FROM _smrt_jobs j WHERE j.status = 'pending' ORDER BY j.priority DESC LIMIT 1) \
                UNION ALL \
                SELECT (SELECT j.priority FROM _smrt_jobs j WHERE j.status = 'pending' AND j.priority < levels.priority \
                ORDER BY j.priority DESC LIMIT 1) FROM levels WHERE levels.priority IS NOT NULL) \
                SELECT min((SELECT j.run_at FROM _smrt_jobs j WHERE j.status = 'pending' AND j.priority = levels.priority \
                AND j.run_at > $1::timestamptz ORDER BY j.run_at LIMIT 1)) \
                FROM levels WHERE levels.priority IS NOT NULL
                """
        }
        return try locked { connection in try connection.query(sql, parameters).row(0).date(0) }
    }

    public func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        let wanted = JobStatus.allCases.filter(statuses.contains)
        if wanted.isEmpty { return [] }
        var parameters: [String?] = [Self.text(limit), Self.text(max(0, offset)), Self.array(wanted.map(\.rawValue))]
        var inQueue = ""
        if let queue {
            parameters.append(queue)
            inQueue = " AND queue = $4::text"
        }
        let sql = """
            SELECT \(Self.jobColumns) FROM _smrt_jobs WHERE status = ANY($3::text[])\(inQueue) \
            ORDER BY id DESC LIMIT $1::bigint OFFSET $2::bigint
            """
        return try locked { connection in try selectJobs(connection, sql, parameters) }
    }
}
