import Foundation
import SmrtJobs

/// Queues as objects (`_smrt_queues`): pause/resume and a global concurrency limit, enforced in the claim.
///
/// Claimers of a limited queue serialize on its row (`FOR UPDATE`, taken in name order so two claimers never
/// deadlock), then count its running jobs in the same transaction (READ COMMITTED: the count's snapshot is taken
/// after the lock is granted, so it sees every claim committed before) and take at most limit − running of its
/// jobs. Claimers of other queues do not wait.
extension PostgresJobStore: QueueStore {
    private static let upsertQueueSQL = """
        INSERT INTO _smrt_queues AS q (name, paused, concurrency, updated_at) \
        VALUES ($1::text, COALESCE($2::boolean, false), $4::integer, $5::timestamptz) \
        ON CONFLICT (name) DO UPDATE SET paused = COALESCE($2::boolean, q.paused), \
        concurrency = CASE WHEN $3::boolean THEN $4::integer ELSE q.concurrency END, updated_at = $5::timestamptz
        """

    public func setQueue(name: String, paused: Bool?, concurrency: QueueConcurrency?, now: Date) throws {
        try Self.validateQueueSetting(name: name, concurrency: concurrency)
        try locked { connection in
            try connection.transaction {
                try connection.query(
                    Self.upsertQueueSQL,
                    [name, Self.text(paused), Self.text(concurrency != nil), concurrency?.value.map(Self.text), Self.text(now)])
                // A resume or a raised limit may make jobs claimable: wake the claimers (one NOTIFY at commit).
                try notify(connection)
            }
        }
    }

    public func listQueues(now: Date) throws -> [QueueInfo] {
        try locked { connection in
            try connection.transaction {
                let counts = try connection.query("SELECT queue, status, count(*) FROM _smrt_jobs GROUP BY queue, status")
                    .rows.compactMap { row -> (queue: String, status: JobStatus, count: Int)? in
                        guard let queue = row.string(0), let status = row.string(1).flatMap(JobStatus.init(rawValue:)) else {
                            return nil
                        }
                        return (queue, status, row.int(2))
                    }
                var oldest: [String: Date] = [:]
                for row in try connection.query(
                    "SELECT queue, min(run_at) FROM _smrt_jobs WHERE status = 'pending' AND run_at <= $1::timestamptz GROUP BY queue",
                    [Self.text(now)]
                ).rows {
                    if let queue = row.string(0), let date = row.date(1) { oldest[queue] = date }
                }
                let rows = try connection.query("SELECT name, paused, concurrency, updated_at FROM _smrt_queues").rows.map { row in
                    QueueInfo(
                        name: row.string(0) ?? "", paused: row.bool(1), concurrency: row.isNull(2) ? nil : row.int(2),
                        updatedAt: row.date(3))
                }
                return QueueInfo.merge(counts: counts, oldestReady: oldest, rows: rows)
            }
        }
    }

    /// Whether any queue is paused or limited (the claim's fast path: one read of a table that is usually empty).
    func hasQueueControls(_ connection: PostgresConnection) throws -> Bool {
        try connection.query("SELECT EXISTS (SELECT 1 FROM _smrt_queues WHERE paused OR concurrency IS NOT NULL)").row(0).bool(0)
    }

    /// Locks the rows of the limited queues that `queues` may claim from (every one when nil), in name order.
    private static let lockLimitedSQL = """
        SELECT name FROM _smrt_queues \
        WHERE concurrency IS NOT NULL AND NOT paused AND ($1::text[] IS NULL OR name = ANY($1::text[])) \
        ORDER BY name FOR UPDATE
        """
    /// The paused or limited queues, read after the lock (READ COMMITTED: a fresh snapshot).
    private static let controlsSQL = "SELECT name, paused, concurrency FROM _smrt_queues WHERE paused OR concurrency IS NOT NULL"
    private static let runningSQL = """
        SELECT queue, count(*) FROM _smrt_jobs WHERE status = 'running' AND queue = ANY($1::text[]) GROUP BY queue
        """
    /// Ready jobs of one queue, in claim order.
    private static let queueCandidatesSQL = """
        SELECT id, queue, priority, run_at FROM _smrt_jobs WHERE status = 'pending' AND queue = $1::text AND run_at <= $2::timestamptz \
        ORDER BY priority DESC, run_at, id LIMIT $3::bigint FOR UPDATE SKIP LOCKED
        """
    /// Ready jobs of every queue but the restricted ones, in claim order.
    private static let otherCandidatesSQL = """
        SELECT id, queue, priority, run_at FROM _smrt_jobs WHERE status = 'pending' AND run_at <= $2::timestamptz \
        AND NOT (queue = ANY($1::text[])) \
        ORDER BY priority DESC, run_at, id LIMIT $3::bigint FOR UPDATE SKIP LOCKED
        """
    /// Ready jobs of the given queues, in claim order.
    private static let listedCandidatesSQL = """
        SELECT id, queue, priority, run_at FROM _smrt_jobs WHERE status = 'pending' AND run_at <= $2::timestamptz \
        AND queue = ANY($1::text[]) \
        ORDER BY priority DESC, run_at, id LIMIT $3::bigint FOR UPDATE SKIP LOCKED
        """
    private static let claimIdsSQL = """
        UPDATE _smrt_jobs AS j SET status = 'running', worker_id = $1::text, worker_heartbeat = $2::timestamptz, \
        started_at = $2::timestamptz, attempts = j.attempts + 1, updated_at = $2::timestamptz, progress = NULL \
        WHERE j.id = ANY($3::bigint[]) AND j.status = 'pending' RETURNING \(jobColumns(of: "j"))
        """

    /// The claim when some queues are paused or limited, inside a transaction: lock the controls, count the running
    /// jobs of the limited ones, gather candidates (each arm in claim order, locked, skipping rows other claimers
    /// hold), keep the global claim order, filter by the budgets, then take exactly those rows.
    func claimRestricted(
        workerId: String, limit: Int, queues: [String]?, now: Date, _ connection: PostgresConnection
    ) throws -> [SmrtJob] {
        let nowText = Self.text(now)
        try connection.query(Self.lockLimitedSQL, [queues.map { Self.array($0) }])
        let controls = try connection.query(Self.controlsSQL).rows.map { row in
            QueueControl(name: row.string(0) ?? "", paused: row.bool(1), concurrency: row.isNull(2) ? nil : row.int(2))
        }
        let limited = controls.filter { !$0.paused && $0.concurrency != nil }.map(\.name)
        var running: [String: Int] = [:]
        if !limited.isEmpty {
            for row in try connection.query(Self.runningSQL, [Self.array(limited)]).rows {
                if let queue = row.string(0) { running[queue] = row.int(1) }
            }
        }
        let plan = QueueClaimPlan(controls: controls, running: running)
        var candidates: [(id: Int64, queue: String, priority: Int, runAt: Date)] = []
        var seen: Set<Int64> = []
        func collect(_ sql: String, _ first: String, most: Int) throws {
            for row in try connection.query(sql, [first, nowText, Self.text(most)]).rows where seen.insert(row.int64(0)).inserted {
                candidates.append((row.int64(0), row.string(1) ?? "", row.int(2), row.date(3) ?? now))
            }
        }
        let restricted = plan.restricted
        if let queues {
            let free = Set(queues).subtracting(restricted)
            if !free.isEmpty { try collect(Self.listedCandidatesSQL, Self.array(free.sorted()), most: limit) }
        } else {
            try collect(Self.otherCandidatesSQL, Self.array(restricted), most: limit)
        }
        for (queue, room) in plan.budgets where queues?.contains(queue) ?? true {
            try collect(Self.queueCandidatesSQL, queue, most: min(limit, room))
        }
        candidates.sort { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.runAt != b.runAt { return a.runAt < b.runAt }
            return a.id < b.id
        }
        let picked = plan.pick(candidates, limit: limit) { $0.queue }
        if picked.isEmpty { return [] }
        var jobs = try selectJobs(connection, Self.claimIdsSQL, [workerId, nowText, Self.array(picked.map { String($0.id) })])
        jobs.sort { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.runAt != b.runAt { return a.runAt < b.runAt }
            return a.id < b.id
        }
        return jobs
    }
}
