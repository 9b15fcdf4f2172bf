import Foundation
import SmrtJobs
import SmrtJobsPostgres
import SmrtJobsSQLite

/// The dashboard phase's data set: a queue as it looks after a busy hour. 1,000,000 jobs (by default) in one
/// statement of the backend's own SQL, then leases, snapshots and schedules through the store:
///
/// - ids 1 … 95 %: ended over the last hour, oldest first; per 949 of them 900 completed, 40 failed for good
///   (8 kinds of error, one a `deadlock`), 9 cancelled, spread evenly (`(id × 7919) mod 949`);
/// - the next 0.1 %: running, claimed by the two leases below;
/// - the newest 5 %: pending, enqueued over the last 5 minutes (the backlog is the newest rows, as in a queue
///   that falls behind);
/// - 5 queues (`id mod 5`) × 20 job types (`id / 5 mod 20`): a queue and type filter matches 1 job in 100;
/// - two supervisors with fresh leases (expiring in an hour) and a snapshot each (4 workers, counters for every
///   queue × type × outcome, the three histograms), 20 cron schedules.
enum DashboardFill {
    static let queues = ["default", "mail", "reports", "billing", "media"]
    static let types = [
        "Mailer", "Invoices", "Reports", "Thumbnails", "Search", "Webhooks", "Payments", "Exports", "Imports",
        "Notifications", "Billing", "Analytics", "Backups", "Sync", "Cleanup", "Feeds", "Geocoder", "Ledger",
        "Pricing", "Digest",
    ]
    static let errors = [
        "connection refused: smtp.internal:25", "deadlock detected while updating ledger", "timed out after 30000 ms",
        "HTTP 502 from the payments API", "invalid invoice: no customer", "disk quota exceeded",
        "worker exited with signal 11", "rate limited (429), retry later",
    ]
    static let leaseIds = ["bench-dashboard-sup-1", "bench-dashboard-sup-2"]

    /// How many jobs of each status a fill of `total` makes (for the report and the checks).
    struct Shape {
        var total: Int
        var ended: Int { total / 1000 * 949 }
        var running: Int { total / 1000 }
        var pending: Int { total - ended - running }
        /// Of `ended`: 900, 40 and 9 per 949.
        var completed: Int { ended / 949 * 900 }
        var failed: Int { ended / 949 * 40 }
        var cancelled: Int { ended / 949 * 9 }
    }

    /// The status of job `i` (SQL, `i` a 64-bit integer).
    static func statusSQL(_ shape: Shape) -> String {
        """
        CASE WHEN i > \(shape.ended + shape.running) THEN 'pending' WHEN i > \(shape.ended) THEN 'running' \
        WHEN (i * 7919) % 949 < 900 THEN 'completed' WHEN (i * 7919) % 949 < 940 THEN 'failed' ELSE 'cancelled' END
        """
    }

    /// `CASE <expression> WHEN 0 THEN 'a' … END` over `names`.
    static func pick(_ expression: String, _ names: [String]) -> String {
        "CASE \(expression) " + names.enumerated().map { "WHEN \($0.offset) THEN '\($0.element)'" }.joined(separator: " ") + " END"
    }

    /// When job `i` ended (ended jobs), was claimed (running) or enqueued (pending), in Unix seconds (SQL).
    static func momentSQL(_ shape: Shape, now: Double) -> String {
        let endStep = 3600.0 / Double(shape.ended), pendingStep = 300.0 / Double(max(shape.pending, 1))
        return """
            CASE WHEN i > \(shape.ended + shape.running) THEN \(now - 300) + (i - \(shape.ended + shape.running)) * \(pendingStep) \
            WHEN i > \(shape.ended) THEN \(now) - (i % 120) \
            ELSE \(now - 3600) + i * \(endStep) END
            """
    }

    // MARK: SQLite

    static func fillSQLite(_ store: SQLiteJobStore, shape: Shape, now: Date) throws {
        let t = now.timeIntervalSince1970
        func time(_ seconds: String) -> String { "strftime('%Y-%m-%dT%H:%M:%fZ', \(seconds), 'unixepoch')" }
        let sql = """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(shape.total)),
            s AS (SELECT i, \(statusSQL(shape)) AS status, \(momentSQL(shape, now: t)) AS t FROM n)
            INSERT INTO _smrt_jobs (id, queue, object_type, method, args, run_at, priority, status, attempts, max_attempts,
                started_at, completed_at, last_error, result, worker_id, worker_heartbeat, created_at, updated_at)
            SELECT i, \(pick("i % 5", queues)), \(pick("i / 5 % 20", types)), 'run',
                '{"account":' || i || ',"batch":"b' || (i % 97) || '"}',
                \(time("CASE WHEN status = 'pending' THEN t ELSE t - 8 - i % 20 END")),
                CASE WHEN i % 10 = 0 THEN 75 ELSE 50 END, status,
                CASE status WHEN 'failed' THEN 3 WHEN 'pending' THEN 0 WHEN 'cancelled' THEN 0 ELSE 1 END, 3,
                CASE WHEN status IN ('completed', 'failed') THEN \(time("t - 0.2 - i % 5")) WHEN status = 'running' THEN \(time("t")) END,
                CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN \(time("t")) END,
                CASE WHEN status = 'failed' THEN \(pick("i % 8", errors.map { $0.replacingOccurrences(of: "'", with: "''") })) || ' (account ' || i || ')' END,
                CASE WHEN status = 'completed' THEN '{"items":' || (i % 50) || '}' END,
                CASE WHEN status = 'running' THEN \(pick("i % 2", leaseIds)) END,
                CASE WHEN status = 'running' THEN \(time("\(t)")) END,
                \(time("CASE WHEN status = 'pending' THEN t ELSE t - 8 - i % 20 END")),
                \(time("t"))
            FROM s
            """
        try store.withConnection { connection in
            try connection.transaction { try connection.exec(sql) }
        }
    }

    // MARK: PostgreSQL

    static func fillPostgres(_ store: PostgresJobStore, shape: Shape, now: Date) throws {
        let t = now.timeIntervalSince1970
        // Whole milliseconds, as the store writes them.
        func time(_ seconds: String) -> String { "to_timestamp(round((\(seconds))::numeric, 3)::float8)" }
        let sql = """
            INSERT INTO _smrt_jobs (queue, object_type, method, args, run_at, priority, status, attempts, max_attempts,
                started_at, completed_at, last_error, result, worker_id, worker_heartbeat, created_at, updated_at)
            SELECT \(pick("i % 5", queues)), \(pick("i / 5 % 20", types)), 'run',
                ('{"account":' || i || ',"batch":"b' || (i % 97) || '"}')::jsonb,
                \(time("CASE WHEN status = 'pending' THEN t ELSE t - 8 - i % 20 END")),
                CASE WHEN i % 10 = 0 THEN 75 ELSE 50 END, status,
                CASE status WHEN 'failed' THEN 3 WHEN 'pending' THEN 0 WHEN 'cancelled' THEN 0 ELSE 1 END, 3,
                CASE WHEN status IN ('completed', 'failed') THEN \(time("t - 0.2 - i % 5")) WHEN status = 'running' THEN \(time("t")) END,
                CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN \(time("t")) END,
                CASE WHEN status = 'failed' THEN \(pick("i % 8", errors.map { $0.replacingOccurrences(of: "'", with: "''") })) || ' (account ' || i || ')' END,
                CASE WHEN status = 'completed' THEN ('{"items":' || (i % 50) || '}')::jsonb END,
                CASE WHEN status = 'running' THEN \(pick("i % 2", leaseIds)) END,
                CASE WHEN status = 'running' THEN \(time("\(t)")) END,
                \(time("CASE WHEN status = 'pending' THEN t ELSE t - 8 - i % 20 END")),
                \(time("t"))
            FROM (SELECT i, \(statusSQL(shape)) AS status, (\(momentSQL(shape, now: t)))::float8 AS t
                  FROM generate_series(1::bigint, \(shape.total)::bigint) AS i) AS s
            ORDER BY i
            """
        try store.withConnection { connection in
            try connection.exec(sql)
            // As autovacuum would have done on a table that grew over an hour: statistics and the visibility map.
            try connection.exec("VACUUM ANALYZE _smrt_jobs")
        }
    }

    // MARK: Leases and schedules

    /// Two supervisors' leases with their snapshots, and 20 schedules.
    static func addSupervisorsAndSchedules(_ store: any JobStore & ScheduleStore, shape: Shape, now: Date) throws {
        for (index, id) in leaseIds.enumerated() {
            var snapshot = SupervisorSnapshot(takenAt: now, configuredWorkers: 4)
            snapshot.workers = (0..<4).map { w in
                WorkerSnapshot(
                    pid: Int32(40_000 + index * 10 + w), state: "busy", rssBytes: UInt64(30 + w) << 20,
                    jobId: Int64(shape.ended + 1 + index + 2 * w), jobLabel: "\(types[w]).run()",
                    jobStartedAt: now.addingTimeInterval(-Double(w)), jobsDone: 1_000 * (w + 1),
                    startedAt: now.addingTimeInterval(-3_600))
            }
            for queue in queues {
                for type in types {
                    for outcome in FinishOutcome.allCases {
                        let count = outcome == .completed ? 4_500 : outcome == .failed ? 200 : outcome == .retried ? 300 : 45
                        snapshot.finished.append(FinishedCount(queue: queue, type: type, outcome: outcome, count: count))
                    }
                }
            }
            snapshot.workerExits = ["exit": 3, "signal": 12, "timeout_kill": 7, "recycled": 40, "start_failed": 1]
            snapshot.jobsPruned = 12_000
            for k in 0..<10_000 {
                snapshot.jobDuration.record(0.003 * Double(k % 400))
                snapshot.queueWait.record(0.001 * Double(k % 700))
            }
            for k in 0..<7 { snapshot.killLateness.record(0.0005 * Double(k + 1)) }
            try store.registerWorker(WorkerRecord(
                id: id, pid: Int32(4_000 + index), host: "bench-host-\(index + 1)", startedAt: now.addingTimeInterval(-3_600),
                heartbeat: now, expiresAt: now.addingTimeInterval(3_600), stats: snapshot))
        }
        for k in 0..<20 {
            _ = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(
                    agentType: types[k], cron: k % 2 == 0 ? "*/\(k % 5 + 1) * * * *" : "\(k) \(k % 24) * * *",
                    methodArgs: ["scope": .string("nightly-\(k)")], timezone: k % 3 == 0 ? "Europe/Berlin" : "UTC"),
                in: store, now: now)
        }
    }
}
