import CSQLite
import Foundation
import SmrtJobs

/// Reading jobs, counting them, deleting old ones, and the change token.
extension SQLiteJobStore {
    public func get(id: Int64) throws -> SmrtJob? {
        try locked { connection in
            try selectJobs("SELECT \(SQLiteJobStore.jobColumns) FROM _smrt_jobs WHERE id = ?1", connection) { s in
                try s.bind(id, 1)
            }.first
        }
    }

    /// Newest first (id DESC); `status` and `queue` filters combine.
    public func list(_ query: JobQuery) throws -> [SmrtJob] {
        var conditions: [String] = []
        var source = "_smrt_jobs"
        if query.status == .running {
            // Running rows are few (bounded by the workers' concurrency) and runners list them at every
            // heartbeat: read them through their partial index and sort, instead of walking the table backwards
            // by id, which is what the planner picks without statistics. The literal lets the index apply.
            source = "_smrt_jobs INDEXED BY _smrt_jobs_running_worker"
            conditions.append("status = 'running'")
        } else if query.status != nil {
            conditions.append("status = ?3")
        }
        if query.queue != nil { conditions.append("queue = ?4") }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(SQLiteJobStore.jobColumns) FROM \(source)\(filter) ORDER BY id DESC LIMIT ?1 OFFSET ?2"
        return try locked { connection in
            try selectJobs(sql, connection) { s in
                try s.bind(query.limit, 1)
                try s.bind(max(0, query.offset), 2)
                if let status = query.status, status != .running { try s.bind(status.rawValue, 3) }
                if let queue = query.queue { try s.bind(queue, 4) }
            }
        }
    }

    /// One statement counting through the partial indexes (pending, running, finished), never the table.
    static func statsSQL(byQueue: Bool) -> String {
        let inQueue = byQueue ? " AND queue = ?1" : ""
        return """
            SELECT 'pending', COUNT(*) FROM _smrt_jobs INDEXED BY \(byQueue ? "_smrt_jobs_claim" : "_smrt_jobs_claim_any") \
            WHERE status = 'pending'\(inQueue) \
            UNION ALL SELECT 'running', COUNT(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_running_worker \
            WHERE status = 'running'\(inQueue) \
            UNION ALL SELECT status, COUNT(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_finished \
            WHERE completed_at IS NOT NULL\(inQueue) GROUP BY status
            """
    }

    private static let statsSQL = (all: statsSQL(byQueue: false), byQueue: statsSQL(byQueue: true))

    public func stats(queue: String?) throws -> JobStats {
        let sql = queue == nil ? SQLiteJobStore.statsSQL.all : SQLiteJobStore.statsSQL.byQueue
        return try locked { connection in
            try connection.withStatement(sql) { s in
                if let queue { try s.bind(queue, 1) }
                var stats = JobStats()
                while try s.step() {
                    let count = s.int(1)
                    switch s.string(0).flatMap(JobStatus.init(rawValue:)) {
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
    }

    /// Deletes the oldest finished jobs first (by completed_at), completed, then failed, then cancelled, until
    /// `limit` is reached. Also forgets schedule fires older than the earliest cutoff (they only guard slots
    /// that can no longer come back). Jobs without completed_at are never deleted.
    public func cleanup(_ options: CleanupOptions, now: Date) throws -> Int {
        let cutoffs: [(JobStatus, Date)] = [
            (.completed, options.completedBefore), (.failed, options.failedBefore), (.cancelled, options.cancelledBefore),
        ].compactMap { status, date in date.map { (status, $0) } }
        if cutoffs.isEmpty { return 0 }
        let sql = options.dryRun
            ? """
            SELECT COUNT(*) FROM (SELECT 1 FROM _smrt_jobs WHERE status = ?1 AND completed_at < ?2 LIMIT ?3)
            """
            : """
            DELETE FROM _smrt_jobs WHERE id IN (SELECT id FROM _smrt_jobs WHERE status = ?1 AND completed_at < ?2 \
            ORDER BY completed_at LIMIT ?3)
            """
        return try locked { connection in
            try connection.transaction(immediate: !options.dryRun) {
                var total = 0
                for (status, cutoff) in cutoffs {
                    var remaining = -1
                    if let limit = options.limit {
                        remaining = max(0, limit - total)
                        if remaining == 0 { break }
                    }
                    total += try connection.withStatement(sql) { s in
                        try s.bind(status.rawValue, 1)
                        try s.bind(cutoff, 2)
                        try s.bind(remaining, 3)
                        if options.dryRun { return try s.step() ? s.int(0) : 0 }
                        while try s.step() {}
                        return connection.changes
                    }
                }
                if !options.dryRun, let earliest = cutoffs.map(\.1).min() {
                    try connection.run("DELETE FROM _smrt_schedule_fires WHERE fired_at < ?1") { s in
                        try s.bind(earliest, 1)
                    }
                }
                return total
            }
        }
    }
}

/// Listing what a claim would take, and jobs of several statuses.
extension SQLiteJobStore {
    /// Walks a pending-only claim index in claim order, as `claim` does, and stops at `limit`.
    public func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        if limit == 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        let order = "ORDER BY priority DESC, run_at ASC, id ASC LIMIT ?1"
        let sql: String
        if let queues {
            let placeholders = (0..<queues.count).map { "?\($0 + 3)" }.joined(separator: ", ")
            sql = """
                SELECT \(SQLiteJobStore.jobColumns) FROM _smrt_jobs INDEXED BY _smrt_jobs_claim \
                WHERE status = 'pending' AND queue IN (\(placeholders)) AND run_at <= ?2 \(order)
                """
        } else {
            sql = """
                SELECT \(SQLiteJobStore.jobColumns) FROM _smrt_jobs INDEXED BY _smrt_jobs_claim_any \
                WHERE status = 'pending' AND run_at <= ?2 \(order)
                """
        }
        return try locked { connection in
            try selectJobs(sql, connection) { s in
                try s.bind(limit, 1)
                try s.bind(now, 2)
                for (i, queue) in (queues ?? []).enumerated() { try s.bind(queue, Int32(i + 3)) }
            }
        }
    }

    public func soonestRunAt(after: Date, queues: [String]?) throws -> Date? {
        if let queues, queues.isEmpty { return nil }
        return try locked { connection in
            try connection.withStatement(Self.soonestRunAtSQL(queueCount: queues?.count ?? 0)) { s in
                try s.bind(after, 1)
                for (i, queue) in (queues ?? []).enumerated() { try s.bind(queue, Int32(i + 2)) }
                return try s.step() ? s.date(0) : nil
            }
        }
    }

    /// `soonestRunAt` for `queueCount` queues (?2…; 0: any queue), after ?1: a skip scan of a claim index. For each
    /// priority in use (found by seeking below the one before) the first `run_at` after ?1 is one seek, so the cost
    /// grows with the number of priorities (and queues), not of pending jobs: a plain `min(run_at)` would read
    /// every pending row of the index.
    static func soonestRunAtSQL(queueCount: Int) -> String {
        guard queueCount > 0 else {
            return """
                WITH RECURSIVE levels(priority) AS (\
                SELECT (SELECT priority FROM _smrt_jobs INDEXED BY _smrt_jobs_claim_any \
                WHERE status = 'pending' ORDER BY priority DESC LIMIT 1) \
                UNION ALL \
                SELECT (SELECT priority FROM _smrt_jobs INDEXED BY _smrt_jobs_claim_any \
                WHERE status = 'pending' AND priority < levels.priority ORDER BY priority DESC LIMIT 1) \
                FROM levels WHERE priority IS NOT NULL) \
                SELECT min((SELECT run_at FROM _smrt_jobs INDEXED BY _smrt_jobs_claim_any WHERE status = 'pending' \
                AND priority = levels.priority AND run_at > ?1 ORDER BY run_at LIMIT 1)) \
                FROM levels WHERE priority IS NOT NULL
                """
        }
        let names = (0..<queueCount).map { "(?\($0 + 2))" }.joined(separator: ", ")
        return """
            WITH RECURSIVE wanted(name) AS (VALUES \(names)), \
            levels(queue, priority) AS (\
            SELECT name, (SELECT priority FROM _smrt_jobs INDEXED BY _smrt_jobs_claim \
            WHERE status = 'pending' AND queue = wanted.name ORDER BY priority DESC LIMIT 1) FROM wanted \
            UNION ALL \
            SELECT queue, (SELECT priority FROM _smrt_jobs INDEXED BY _smrt_jobs_claim \
            WHERE status = 'pending' AND queue = levels.queue AND priority < levels.priority ORDER BY priority DESC LIMIT 1) \
            FROM levels WHERE priority IS NOT NULL) \
            SELECT min((SELECT run_at FROM _smrt_jobs INDEXED BY _smrt_jobs_claim WHERE status = 'pending' \
            AND queue = levels.queue AND priority = levels.priority AND run_at > ?1 ORDER BY run_at LIMIT 1)) \
            FROM levels WHERE priority IS NOT NULL
            """
    }

    public func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        let wanted = JobStatus.allCases.filter(statuses.contains)
        if wanted.isEmpty { return [] }
        let placeholders = (0..<wanted.count).map { "?\($0 + 4)" }.joined(separator: ", ")
        let inQueue = queue == nil ? "" : " AND queue = ?3"
        let sql = """
            SELECT \(SQLiteJobStore.jobColumns) FROM _smrt_jobs WHERE status IN (\(placeholders))\(inQueue) \
            ORDER BY id DESC LIMIT ?1 OFFSET ?2
            """
        return try locked { connection in
            try selectJobs(sql, connection) { s in
                try s.bind(limit, 1)
                try s.bind(max(0, offset), 2)
                if let queue { try s.bind(queue, 3) }
                for (i, status) in wanted.enumerated() { try s.bind(status.rawValue, Int32(i + 4)) }
            }
        }
    }
}
