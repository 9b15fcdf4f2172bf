import CSQLite
import Foundation
import SmrtJobs

/// Job state transitions: enqueue, claim, finish, release, cancel, retry, heartbeat, recovery.
extension SQLiteJobStore {
    private static let insertSQL = """
        INSERT INTO _smrt_jobs (tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, \
        attempts, max_attempts, timeout, timeout_behavior, result_pointer, retry_strategy, created_at, updated_at) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
        """

    public func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob {
        if spec.uniqueKey != nil { return try enqueueReportingExisting(spec, now: now).job }
        try spec.validate()
        return try locked { connection in try insert(spec, now: now, connection) }
    }

    public func enqueue(batch: [JobSpec], now: Date) throws -> [Int64] {
        if batch.contains(where: { $0.uniqueKey != nil }) {
            return try enqueueReportingExisting(batch: batch, now: now).map(\.id)
        }
        // Validate everything first: a bad spec must not leave half a batch behind.
        for spec in batch { try spec.validate() }
        if batch.isEmpty { return [] }
        return try locked { connection in
            try connection.transaction {
                var ids: [Int64] = []
                ids.reserveCapacity(batch.count)
                for spec in batch { ids.append(try insert(spec, now: now, connection).id) }
                return ids
            }
        }
    }

    /// Inserts one validated spec; the job is built from the spec rather than read back (all values are known),
    /// with dates rounded to what the store keeps.
    func insert(_ spec: JobSpec, now: Date, _ connection: SQLiteConnection) throws -> SmrtJob {
        let runAt = spec.runAt ?? now
        try connection.run(SQLiteJobStore.insertSQL) { s in try bindInsert(s, spec, now: now) }
        let created = SQLiteJobStore.stored(now)
        return SmrtJob(
            id: connection.lastInsertRowID, tenantId: spec.tenantId, queue: spec.queue, objectType: spec.objectType,
            objectId: spec.objectId, method: spec.method, args: spec.args, runAt: SQLiteJobStore.stored(runAt),
            priority: spec.priority, status: .pending, attempts: 0, maxAttempts: spec.maxAttempts,
            timeout: spec.timeout, timeoutBehavior: spec.timeoutBehavior, resultPointer: spec.resultPointer,
            retryStrategy: spec.retryStrategy, createdAt: created, updatedAt: created)
    }

    /// Binds a spec's values as ?1...?14 of `insertSQL` (and of the unique insert, which adds ?15).
    func bindInsert(_ s: SQLiteStatement, _ spec: JobSpec, now: Date) throws {
        let runAt = spec.runAt ?? now
        let argsText = spec.args.isEmpty ? "{}" : JSONValue.object(spec.args).jsonText
        let strategyText = spec.retryStrategy == .default
            ? SQLiteJobStore.defaultRetryStrategyText : spec.retryStrategy.jsonValue.jsonText
        try s.bind(spec.tenantId, 1)
        try s.bind(spec.queue, 2)
        try s.bind(spec.objectType, 3)
        try s.bind(spec.objectId, 4)
        try s.bind(spec.method, 5)
        try s.bind(argsText, 6)
        try s.bind(runAt, 7)
        try s.bind(spec.priority, 8)
        try s.bind(spec.maxAttempts, 9)
        try s.bind(spec.timeout, 10)
        try s.bind(spec.timeoutBehavior.rawValue, 11)
        try s.bind(spec.resultPointer, 12)
        try s.bind(strategyText, 13)
        try s.bind(now, 14)
    }

    /// The claim statement for `queueCount` queues (0 = any queue).
    ///
    /// The inner SELECT walks a pending-only claim index in ORDER BY order and stops at LIMIT, so its cost does
    /// not grow with the number of pending rows. `INDEXED BY` pins that plan: without ANALYZE statistics the
    /// planner prefers the (status) index and sorts every pending row. Several queues are claimed as a
    /// UNION ALL of per-queue walks of at most LIMIT rows each, then sorted (queueCount × LIMIT rows at most);
    /// `queue IN (...)` would instead sort every ready row of those queues. The outer `+status = 'pending'`
    /// re-checks the row without steering the planner away from the primary key. A new attempt starts without
    /// progress (the last attempt's worker pid and exit stay until this one finishes, as `last_error` does).
    func claimStatement(queueCount: Int) -> String {
        if let sql = claimSQL[queueCount] { return sql }
        let order = "ORDER BY priority DESC, run_at ASC, id ASC LIMIT ?3"
        let candidates: String
        switch queueCount {
        case 0:
            candidates = """
                SELECT id FROM _smrt_jobs INDEXED BY _smrt_jobs_claim_any \
                WHERE status = 'pending' AND run_at <= ?2 \(order)
                """
        case 1:
            candidates = """
                SELECT id FROM _smrt_jobs INDEXED BY _smrt_jobs_claim \
                WHERE status = 'pending' AND queue = ?4 AND run_at <= ?2 \(order)
                """
        default:
            let arms = (0..<queueCount).map { i in
                """
                SELECT id, priority, run_at FROM (SELECT id, priority, run_at FROM _smrt_jobs INDEXED BY _smrt_jobs_claim \
                WHERE status = 'pending' AND queue = ?\(i + 4) AND run_at <= ?2 \(order))
                """
            }
            candidates = "SELECT id FROM (\(arms.joined(separator: " UNION ALL "))) \(order)"
        }
        let sql = """
            UPDATE _smrt_jobs SET status = 'running', worker_id = ?1, worker_heartbeat = ?2, started_at = ?2, \
            attempts = attempts + 1, updated_at = ?2, progress = NULL \
            WHERE id IN (\(candidates)) AND +status = 'pending' \
            RETURNING \(SQLiteJobStore.jobColumns)
            """
        claimSQL[queueCount] = sql
        return sql
    }

    public func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        if limit <= 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        return try locked { connection in
            try connection.transaction { try claimRows(workerId: workerId, limit: limit, queues: queues, now: now, connection) }
        }
    }

    /// The claim inside the caller's transaction, sorted in claim order.
    func claimRows(
        workerId: String, limit: Int, queues: [String]?, now: Date, _ connection: SQLiteConnection
    ) throws -> [SmrtJob] {
        if limit <= 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        // Some queue paused or limited: the restricted claim (SQLiteJobStore+Queues.swift).
        if let controls = try queueControls(connection) {
            return try claimRestricted(workerId: workerId, limit: limit, queues: queues, now: now, controls, connection)
        }
        let sql = claimStatement(queueCount: queues?.count ?? 0)
        var jobs = try connection.withStatement(sql) { s in
            try s.bind(workerId, 1)
            try s.bind(now, 2)
            try s.bind(limit, 3)
            for (i, queue) in (queues ?? []).enumerated() { try s.bind(queue, Int32(i + 4)) }
            var jobs: [SmrtJob] = []
            jobs.reserveCapacity(min(limit, 256))
            while try s.step() { jobs.append(try s.decodeJob(strategies: &retryStrategies)) }
            return jobs
        }
        // RETURNING gives rows in no promised order.
        jobs.sort { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.runAt != b.runAt { return a.runAt < b.runAt }
            return a.id < b.id
        }
        return jobs
    }

    private static let completeSQL = """
        UPDATE _smrt_jobs SET status = 'completed', result = ?1, result_pointer = COALESCE(?2, result_pointer), \
        completed_at = ?3, updated_at = ?3, started_at = COALESCE(?6, started_at), worker_pid = ?7, worker_exit = ?8 \
        WHERE id = ?4 AND worker_id = ?5 AND status = 'running' \
        RETURNING \(scheduleIdColumn)
        """

    /// The schedule that fired a job (`_scheduleId` of its args), or NULL. `instr` spares the JSON parse for the
    /// many jobs no schedule fired (finishing is the hot path).
    private static let scheduleIdColumn = """
        CASE WHEN instr(args, '"\(ReservedArgs.scheduleId)"') THEN json_extract(args, '$.\(ReservedArgs.scheduleId)') END
        """

    /// A failed attempt: back to pending at ?1 when a retry time is given and attempts remain, else failed.
    /// SET expressions all see the row as it was, so the CASEs agree with each other. ?7 and ?8 are the worker
    /// pid and how the attempt ended (a recovery: no pid, its reason).
    private static func failSQL(returning: String) -> String {
        let retrying = "?1 IS NOT NULL AND attempts < max_attempts"
        return """
            UPDATE _smrt_jobs SET \
            status = CASE WHEN \(retrying) THEN 'pending' ELSE 'failed' END, \
            run_at = CASE WHEN \(retrying) THEN ?1 ELSE run_at END, \
            completed_at = CASE WHEN \(retrying) THEN NULL ELSE ?3 END, \
            worker_id = CASE WHEN \(retrying) THEN NULL ELSE worker_id END, \
            worker_heartbeat = CASE WHEN \(retrying) THEN NULL ELSE worker_heartbeat END, \
            last_error = ?2, updated_at = ?3, started_at = COALESCE(?6, started_at), worker_pid = ?7, worker_exit = ?8 \
            WHERE id = ?4 AND worker_id = ?5 AND status = 'running' \
            RETURNING \(returning)
            """
    }

    private static let failSQL = failSQL(returning: "status, run_at, \(scheduleIdColumn)")
    private static let recoverSQL = failSQL(returning: jobColumns)

    public func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult] {
        if reports.isEmpty { return [] }
        return try locked { connection in
            try connection.transaction { try finishRows(reports, workerId: workerId, now: now, connection) }
        }
    }

    /// One transaction: the results, then the claim (group commit for a supervisor that claims ahead).
    public func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        if reports.isEmpty && limit <= 0 { return ([], []) }
        return try locked { connection in
            try connection.transaction {
                let finished = try finishRows(reports, workerId: workerId, now: now, connection)
                let claimed = try claimRows(workerId: workerId, limit: limit, queues: queues, now: now, connection)
                return (finished, claimed)
            }
        }
    }

    /// The results inside the caller's transaction; a job that ends for good is counted on its schedule.
    func finishRows(
        _ reports: [AttemptReport], workerId: String, now: Date, _ connection: SQLiteConnection
    ) throws -> [FinishResult] {
        var results: [FinishResult] = []
        results.reserveCapacity(reports.count)
        for report in reports {
            let written: (result: FinishResult, scheduleId: Int64?)
            switch report.outcome {
            case .completed(let result, let resultPointer):
                written = try connection.withStatement(SQLiteJobStore.completeSQL) { s in
                    try s.bind(result, 1)
                    try s.bind(resultPointer, 2)
                    try s.bind(now, 3)
                    try s.bind(report.jobId, 4)
                    try s.bind(workerId, 5)
                    try s.bind(report.startedAt, 6)
                    try s.bind(report.workerPid.map(Int.init), 7)
                    try s.bind(report.workerExit, 8)
                    guard try s.step() else { return (.notOwned, nil) }
                    return (.completed, s.isNull(0) ? nil : s.int64(0))
                }
            case .failed(let error, let retryAt):
                written = try connection.withStatement(SQLiteJobStore.failSQL) { s in
                    try s.bind(retryAt, 1)
                    try s.bind(error, 2)
                    try s.bind(now, 3)
                    try s.bind(report.jobId, 4)
                    try s.bind(workerId, 5)
                    try s.bind(report.startedAt, 6)
                    try s.bind(report.workerPid.map(Int.init), 7)
                    try s.bind(report.workerExit, 8)
                    guard try s.step() else { return (.notOwned, nil) }
                    if s.string(0) == JobStatus.pending.rawValue, let runAt = s.date(1) {
                        return (.retrying(at: runAt), nil)
                    }
                    return (.failed, s.isNull(2) ? nil : s.int64(2))
                }
            }
            if let scheduleId = written.scheduleId {
                let message: String? = if case .failed(let error, _) = report.outcome { error } else { nil }
                try countScheduleRun(
                    scheduleId: scheduleId, success: written.result == .completed, message: message, now: now, connection)
            }
            results.append(written.result)
        }
        return results
    }

    private static let releaseSQL = """
        UPDATE _smrt_jobs SET status = 'pending', attempts = MAX(attempts - 1, 0), worker_id = NULL, \
        worker_heartbeat = NULL, started_at = NULL, updated_at = ?1 \
        WHERE id = ?2 AND worker_id = ?3 AND status = 'running'
        """

    @discardableResult
    public func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int {
        if jobIds.isEmpty { return 0 }
        return try locked { connection in
            try connection.transaction {
                var released = 0
                for id in jobIds {
                    released += try connection.run(SQLiteJobStore.releaseSQL) { s in
                        try s.bind(now, 1)
                        try s.bind(id, 2)
                        try s.bind(workerId, 3)
                    }
                }
                return released
            }
        }
    }

    static let cancelSQL = """
        UPDATE _smrt_jobs SET status = 'cancelled', completed_at = ?1, updated_at = ?1 \
        WHERE id = ?2 AND status IN ('pending', 'running', 'failed') RETURNING \(jobColumns)
        """

    public func cancel(id: Int64, now: Date) throws -> SmrtJob {
        try transition(id: id, action: "cancel", sql: SQLiteJobStore.cancelSQL, now: now) { cancelled, before, connection in
            // A scheduled job that never finished holds one of its schedule's max_concurrent slots: free it,
            // or a cancel would block the schedule for good. (A failed job was counted when it failed.)
            if let scheduleId = cancelled.scheduleId, before == .pending || before == .running {
                try countScheduleRun(scheduleId: scheduleId, success: false, message: "cancelled", now: now, connection)
            }
        }
    }

    static let retrySQL = """
        UPDATE _smrt_jobs SET status = 'pending', attempts = 0, run_at = ?1, last_error = NULL, started_at = NULL, \
        completed_at = NULL, worker_id = NULL, worker_heartbeat = NULL, updated_at = ?1, progress = NULL, \
        worker_pid = NULL, worker_exit = NULL \
        WHERE id = ?2 AND status <> 'completed' RETURNING \(jobColumns)
        """

    public func retry(id: Int64, now: Date) throws -> SmrtJob {
        do {
            return try transition(id: id, action: "retry", sql: SQLiteJobStore.retrySQL, now: now)
        } catch let error as SmrtJobsError where Self.isUniqueConflict(error) {
            throw try uniqueKeyHeld(jobId: id) ?? error
        }
    }

    /// Runs a conditional UPDATE of one job (binding now as ?1, id as ?2); when it matches nothing, tells
    /// a missing job from one in the wrong state.
    private func transition(
        id: Int64, action: String, sql: String, now: Date,
        afterwards: (_ updated: SmrtJob, _ before: JobStatus?, SQLiteConnection) throws -> Void = { _, _, _ in }
    ) throws -> SmrtJob {
        try locked { connection in
            try connection.transaction {
                let before = try connection.withStatement("SELECT status FROM _smrt_jobs WHERE id = ?1") { s in
                    try s.bind(id, 1)
                    return try s.step() ? s.string(0).flatMap(JobStatus.init(rawValue:)) : nil
                }
                guard let before else { throw SmrtJobsError.jobNotFound(id) }
                let updated = try connection.withStatement(sql) { s -> SmrtJob? in
                    try s.bind(now, 1)
                    try s.bind(id, 2)
                    return try s.step() ? try s.decodeJob(strategies: &retryStrategies) : nil
                }
                guard let updated else { throw SmrtJobsError.invalidTransition(jobId: id, from: before, action: action) }
                try afterwards(updated, before, connection)
                return updated
            }
        }
    }

    public func heartbeat(workerId: String, now: Date) throws {
        try locked { connection in
            try connection.run(
                """
                UPDATE _smrt_jobs INDEXED BY _smrt_jobs_running_worker SET worker_heartbeat = ?1 \
                WHERE worker_id = ?2 AND status = 'running'
                """
            ) { s in
                try s.bind(now, 1)
                try s.bind(workerId, 2)
            }
        }
    }

    /// One `BEGIN IMMEDIATE` transaction: the write lock keeps out every other writer, so the owner cannot renew,
    /// register or claim between the lease check and the taking of its jobs.
    public func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        try locked { connection in
            try connection.transaction {
                // The owner's row: nil without one (its heartbeat is never NULL).
                let row: Date?? = try connection.withStatement("SELECT heartbeat FROM _smrt_workers WHERE id = ?1") { s in
                    try s.bind(ownerId, 1)
                    return try s.step() ? .some(s.date(0)) : nil
                }
                switch lease {
                case .noRow:
                    if row != nil { return nil }
                case .row(let judged):
                    // A millisecond of slack for the stored text's rounding; a renewal moves the heartbeat by seconds.
                    guard let row, let heartbeat = row, heartbeat <= judged.addingTimeInterval(0.001) else { return nil }
                    try connection.run("DELETE FROM _smrt_workers WHERE id = ?1") { s in try s.bind(ownerId, 1) }
                }
                let running = try selectJobs(
                    """
                    SELECT \(SQLiteJobStore.jobColumns) FROM _smrt_jobs INDEXED BY _smrt_jobs_running_worker \
                    WHERE worker_id = ?1 AND status = 'running' ORDER BY id
                    """,
                    connection
                ) { s in try s.bind(ownerId, 1) }
                return try recover(running, reason: reason, now: now, nextRunAt: nextRunAt, connection)
            }
        }
    }

    public func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        try locked { connection in
            try connection.transaction {
                let running = try selectJobs(
                    """
                    SELECT \(SQLiteJobStore.jobColumns) FROM _smrt_jobs INDEXED BY _smrt_jobs_running_worker \
                    WHERE status = 'running' AND (worker_heartbeat IS NULL OR worker_heartbeat < ?1) ORDER BY id
                    """, connection
                ) { s in try s.bind(heartbeatBefore, 1) }
                return try recover(running, reason: reason, now: now, nextRunAt: nextRunAt, connection)
            }
        }
    }

    /// Fails the attempt of each job as its owner would have (same conditional UPDATE as `finish`), with the
    /// retry time `nextRunAt` picks; a job failed for good is counted on its schedule. The attempt's worker exit
    /// is the reason (its process, on a dead owner's host, is not known). Rows are read completely before any is
    /// written.
    private func recover(
        _ jobs: [SmrtJob], reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?, _ connection: SQLiteConnection
    ) throws -> [RecoveredJob] {
        var recovered: [RecoveredJob] = []
        for job in jobs {
            let retryAt = nextRunAt(job)
            let updated = try connection.withStatement(SQLiteJobStore.recoverSQL) { s -> SmrtJob? in
                try s.bind(retryAt, 1)
                try s.bind(reason, 2)
                try s.bind(now, 3)
                try s.bind(job.id, 4)
                try s.bind(job.workerId, 5)
                try s.bindNull(7)
                try s.bind(reason, 8)
                return try s.step() ? try s.decodeJob(strategies: &retryStrategies) : nil
            }
            guard let updated else { continue }
            let result: FinishResult = updated.status == .pending ? .retrying(at: updated.runAt) : .failed
            if result == .failed, let scheduleId = updated.scheduleId {
                try countScheduleRun(scheduleId: scheduleId, success: false, message: reason, now: now, connection)
            }
            recovered.append(RecoveredJob(job: updated, result: result))
        }
        return recovered
    }

    /// Runs a SELECT of `jobColumns` and decodes every row.
    func selectJobs(
        _ sql: String, _ connection: SQLiteConnection, bind: (SQLiteStatement) throws -> Void
    ) throws -> [SmrtJob] {
        try connection.withStatement(sql) { s in
            try bind(s)
            var jobs: [SmrtJob] = []
            while try s.step() { jobs.append(try s.decodeJob(strategies: &retryStrategies)) }
            return jobs
        }
    }
}
