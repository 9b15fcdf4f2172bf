import Foundation
import SmrtJobs

/// Queues as objects (`_smrt_queues`): pause/resume and a global concurrency limit, enforced in the claim.
///
/// The claim's `BEGIN IMMEDIATE` transaction already serializes every claimer of the file, so counting a limited
/// queue's running jobs and taking at most limit − running of its jobs in that transaction is exact.
extension SQLiteJobStore: QueueStore {
    private static let upsertQueueSQL = """
        INSERT INTO _smrt_queues (name, paused, concurrency, updated_at) VALUES (?1, COALESCE(?2, 0), ?4, ?5) \
        ON CONFLICT (name) DO UPDATE SET paused = COALESCE(?2, paused), \
        concurrency = CASE WHEN ?3 THEN ?4 ELSE concurrency END, updated_at = ?5
        """

    public func setQueue(name: String, paused: Bool?, concurrency: QueueConcurrency?, now: Date) throws {
        try Self.validateQueueSetting(name: name, concurrency: concurrency)
        try locked { connection in
            try connection.run(Self.upsertQueueSQL) { s in
                try s.bind(name, 1)
                try s.bind(paused, 2)
                try s.bind(concurrency != nil, 3)
                try s.bind(concurrency?.value, 4)
                try s.bind(now, 5)
            }
        }
    }

    public func listQueues(now: Date) throws -> [QueueInfo] {
        try locked { connection in
            try connection.transaction(immediate: false) {
                let counts = try jobCountsByQueue(connection)
                var oldest: [String: Date] = [:]
                try connection.withStatement(
                    "SELECT queue, min(run_at) FROM _smrt_jobs WHERE status = 'pending' AND run_at <= ?1 GROUP BY queue"
                ) { s in
                    try s.bind(now, 1)
                    while try s.step() { if let queue = s.string(0), let date = s.date(1) { oldest[queue] = date } }
                }
                var rows: [QueueInfo] = []
                try connection.withStatement("SELECT name, paused, concurrency, updated_at FROM _smrt_queues") { s in
                    while try s.step() {
                        rows.append(QueueInfo(
                            name: s.string(0) ?? "", paused: s.bool(1), concurrency: s.isNull(2) ? nil : s.int(2),
                            updatedAt: s.date(3)))
                    }
                }
                return QueueInfo.merge(counts: counts, oldestReady: oldest, rows: rows)
            }
        }
    }

    /// The rows of paused or limited queues, or nil when there are none (the claim's fast path: one read of a
    /// table that is usually empty).
    func queueControls(_ connection: SQLiteConnection) throws -> [QueueControl]? {
        var controls: [QueueControl] = []
        try connection.withStatement(
            "SELECT name, paused, concurrency FROM _smrt_queues WHERE paused OR concurrency IS NOT NULL"
        ) { s in
            while try s.step() {
                controls.append(QueueControl(name: s.string(0) ?? "", paused: s.bool(1), concurrency: s.isNull(2) ? nil : s.int(2)))
            }
        }
        return controls.isEmpty ? nil : controls
    }

    private struct Candidate {
        var id: Int64
        var queue: String
        var priority: Int
        /// Fixed-width ISO text: sorts as the date does.
        var runAt: String
    }

    private static let candidateColumns = "SELECT id, queue, priority, run_at FROM _smrt_jobs"
    private static let order = "ORDER BY priority DESC, run_at ASC, id ASC LIMIT ?3"
    /// Ready jobs of one queue, in claim order.
    private static let queueCandidatesSQL = """
        \(candidateColumns) INDEXED BY _smrt_jobs_claim WHERE status = 'pending' AND queue = ?1 AND run_at <= ?2 \(order)
        """
    /// Ready jobs of every queue but the restricted ones (a JSON array), in claim order.
    private static let otherCandidatesSQL = """
        \(candidateColumns) INDEXED BY _smrt_jobs_claim_any WHERE status = 'pending' AND run_at <= ?2 \
        AND queue NOT IN (SELECT value FROM json_each(?1)) \(order)
        """
    private static let runningSQL = """
        SELECT queue, count(*) FROM _smrt_jobs WHERE status = 'running' AND queue IN (SELECT value FROM json_each(?1)) \
        GROUP BY queue
        """
    private static let claimIdsSQL = """
        UPDATE _smrt_jobs SET status = 'running', worker_id = ?1, worker_heartbeat = ?2, started_at = ?2, \
        attempts = attempts + 1, updated_at = ?2, progress = NULL \
        WHERE id IN (SELECT value FROM json_each(?3)) AND status = 'pending' \
        RETURNING \(jobColumns)
        """

    private static func jsonArray(_ values: [String]) -> String {
        JSONValue.array(values.map { .string($0) }).jsonText
    }

    /// The claim when some queues are paused or limited, inside the caller's write transaction: candidates in
    /// claim order (at most `limit` of the unrestricted queues, at most min(limit, room) of each limited queue with
    /// room), filtered by the budgets, then exactly those rows taken.
    func claimRestricted(
        workerId: String, limit: Int, queues: [String]?, now: Date, _ controls: [QueueControl], _ connection: SQLiteConnection
    ) throws -> [SmrtJob] {
        let limited = controls.filter { !$0.paused && $0.concurrency != nil }.map(\.name)
        var running: [String: Int] = [:]
        if !limited.isEmpty {
            try connection.withStatement(Self.runningSQL) { s in
                try s.bind(Self.jsonArray(limited), 1)
                while try s.step() { if let queue = s.string(0) { running[queue] = s.int(1) } }
            }
        }
        let plan = QueueClaimPlan(controls: controls, running: running)
        var candidates: [Candidate] = []
        func collect(_ sql: String, _ first: String, most: Int) throws {
            try connection.withStatement(sql) { s in
                try s.bind(first, 1)
                try s.bind(now, 2)
                try s.bind(most, 3)
                while try s.step() {
                    candidates.append(Candidate(id: s.int64(0), queue: s.string(1) ?? "", priority: s.int(2), runAt: s.string(3) ?? ""))
                }
            }
        }
        if let queues {
            for queue in Set(queues) where !plan.excluded.contains(queue) {
                try collect(Self.queueCandidatesSQL, queue, most: min(limit, plan.budgets[queue] ?? limit))
            }
        } else {
            try collect(Self.otherCandidatesSQL, Self.jsonArray(plan.restricted), most: limit)
            for (queue, room) in plan.budgets { try collect(Self.queueCandidatesSQL, queue, most: min(limit, room)) }
        }
        candidates.sort { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.runAt != b.runAt { return a.runAt < b.runAt }
            return a.id < b.id
        }
        let picked = plan.pick(candidates, limit: limit) { $0.queue }
        if picked.isEmpty { return [] }
        var jobs = try connection.withStatement(Self.claimIdsSQL) { s in
            try s.bind(workerId, 1)
            try s.bind(now, 2)
            try s.bind(JSONValue.array(picked.map { .int($0.id) }).jsonText, 3)
            var jobs: [SmrtJob] = []
            while try s.step() { jobs.append(try s.decodeJob(strategies: &retryStrategies)) }
            return jobs
        }
        jobs.sort { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.runAt != b.runAt { return a.runAt < b.runAt }
            return a.id < b.id
        }
        return jobs
    }
}
