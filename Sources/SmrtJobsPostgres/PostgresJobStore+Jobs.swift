import Foundation
import SmrtJobs

/// Job state transitions: enqueue, claim, finish, release, cancel, retry, heartbeat, recovery.
extension PostgresJobStore {
    private static let insertColumns = """
        INSERT INTO _smrt_jobs (tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, \
        attempts, max_attempts, timeout, timeout_behavior, result_pointer, retry_strategy, created_at, updated_at) \
        VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::timestamptz, $8::integer, 'pending', 0, \
        $9::integer, $10::bigint, $11::text, $12::text, $13::jsonb, $14::timestamptz, $14::timestamptz) RETURNING id
        """
    /// Inside a transaction that notifies on its own.
    private static let insertSQL = insertColumns
    /// One job in one statement: the insert and its notification commit together.
    package static let insertNotifySQL = "WITH inserted AS (\(insertColumns)) SELECT id, pg_notify($15::text, '') FROM inserted"

    public func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob {
        if spec.uniqueKey != nil { return try enqueueReportingExisting(spec, now: now).job }
        try spec.validate()
        return try locked { connection in
            let id = try connection.query(Self.insertNotifySQL, insertParameters(spec, now: now) + [channel]).row(0).int64(0)
            return job(spec, id: id, now: now)
        }
    }

    /// Every job of a batch in one statement: one array parameter per column, unnested in batch order; the
    /// notification goes with it (one per statement, however many rows).
    package static let insertBatchSQL = """
        WITH inserted AS (INSERT INTO _smrt_jobs (tenant_id, queue, object_type, object_id, method, args, run_at, \
        priority, status, attempts, max_attempts, timeout, timeout_behavior, result_pointer, retry_strategy, created_at, \
        updated_at) \
        SELECT b.tenant_id, b.queue, b.object_type, b.object_id, b.method, b.args::jsonb, b.run_at::timestamptz, \
        b.priority, 'pending', 0, b.max_attempts, b.timeout, b.timeout_behavior, b.result_pointer, \
        b.retry_strategy::jsonb, $14::timestamptz, $14::timestamptz \
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::integer[], \
        $9::integer[], $10::bigint[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY \
        AS b(tenant_id, queue, object_type, object_id, method, args, run_at, priority, max_attempts, timeout, \
        timeout_behavior, result_pointer, retry_strategy, n) ORDER BY b.n RETURNING id) \
        SELECT array_agg(id ORDER BY id)::text, pg_notify($15::text, '') FROM inserted
        """

    public func enqueue(batch: [JobSpec], now: Date) throws -> [Int64] {
        if batch.contains(where: { $0.uniqueKey != nil }) {
            return try enqueueReportingExisting(batch: batch, now: now).map(\.id)
        }
        // Validate everything first: a bad spec must not leave half a batch behind.
        for spec in batch { try spec.validate() }
        if batch.isEmpty { return [] }
        let rows = batch.map { insertParameters($0, now: now) }
        var parameters: [String?] = (0..<13).map { column in Self.array(rows.map { $0[column] }) }
        parameters.append(Self.text(now))
        parameters.append(channel)
        return try locked { connection in
            // One statement: the rows are numbered in batch order and take their ids in that order.
            let text = try connection.query(Self.insertBatchSQL, parameters).row(0).string(0) ?? "{}"
            let ids = text.dropFirst().dropLast().split(separator: ",").compactMap { Int64($0) }
            guard ids.count == batch.count else {
                throw SmrtJobsError.database(
                    kind: .other, message: "a batch of \(batch.count) jobs was inserted as \(ids.count) rows")
            }
            return ids
        }
    }

    /// Inserts one validated spec inside the caller's transaction (which notifies); the job is built from the
    /// spec rather than read back, with dates rounded to what the store keeps.
    func insert(_ spec: JobSpec, now: Date, _ connection: PostgresConnection) throws -> SmrtJob {
        let id = try connection.query(Self.insertSQL, insertParameters(spec, now: now)).row(0).int64(0)
        return job(spec, id: id, now: now)
    }

    func insertParameters(_ spec: JobSpec, now: Date) -> [String?] {
        let argsText = spec.args.isEmpty ? "{}" : JSONValue.object(spec.args).jsonText
        let strategyText = spec.retryStrategy == .default
            ? Self.defaultRetryStrategyText : spec.retryStrategy.jsonValue.jsonText
        return [
            spec.tenantId, spec.queue, spec.objectType, spec.objectId, spec.method, argsText, Self.text(spec.runAt ?? now),
            Self.text(spec.priority), Self.text(spec.maxAttempts), Self.text(spec.timeout), spec.timeoutBehavior.rawValue,
            spec.resultPointer, strategyText, Self.text(now),
        ]
    }

    private func job(_ spec: JobSpec, id: Int64, now: Date) -> SmrtJob {
        let created = Self.stored(now)
        return SmrtJob(
            id: id, tenantId: spec.tenantId, queue: spec.queue, objectType: spec.objectType, objectId: spec.objectId,
            method: spec.method, args: spec.args, runAt: Self.stored(spec.runAt ?? now), priority: spec.priority,
            status: .pending, attempts: 0, maxAttempts: spec.maxAttempts, timeout: spec.timeout,
            timeoutBehavior: spec.timeoutBehavior, resultPointer: spec.resultPointer, retryStrategy: spec.retryStrategy,
            createdAt: created, updatedAt: created)
    }

    /// The claim: one statement. The CTE picks due pending rows in claim order and locks them, skipping rows
    /// another claimer holds, and stops at LIMIT (the CTE is a fence: the planner cannot lock more rows than
    /// it returns); the UPDATE takes exactly those. One queue compares with `=` so the claim index's order
    /// serves ORDER BY; several use `= ANY`. A new attempt starts without progress (the last attempt's worker pid
    /// and exit stay until this one finishes, as `last_error` does).
    private static func claimSQL(queues: Int) -> String {
        let filter: String
        switch queues {
        case 0: filter = ""
        case 1: filter = " AND queue = $4::text"
        default: filter = " AND queue = ANY($4::text[])"
        }
        return """
            WITH picked AS (SELECT id FROM _smrt_jobs WHERE status = 'pending' AND run_at <= $2::timestamptz\(filter) \
            ORDER BY priority DESC, run_at, id LIMIT $3::bigint FOR UPDATE SKIP LOCKED) \
            UPDATE _smrt_jobs AS j SET status = 'running', worker_id = $1::text, worker_heartbeat = $2::timestamptz, \
            started_at = $2::timestamptz, attempts = j.attempts + 1, updated_at = $2::timestamptz, progress = NULL \
            FROM picked WHERE j.id = picked.id RETURNING \(jobColumns(of: "j"))
            """
    }

    package static let claimSQL = (any: claimSQL(queues: 0), one: claimSQL(queues: 1), many: claimSQL(queues: 2))

    public func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        if limit <= 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        return try locked { connection in try claimRows(workerId: workerId, limit: limit, queues: queues, now: now, connection) }
    }

    /// The claim (in the caller's transaction, if any), sorted in claim order.
    func claimRows(
        workerId: String, limit: Int, queues: [String]?, now: Date, _ connection: PostgresConnection
    ) throws -> [SmrtJob] {
        if limit <= 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        // Some queue paused or limited: the restricted claim (PostgresJobStore+Queues.swift).
        if try hasQueueControls(connection) {
            return try connection.transaction {
                try claimRestricted(workerId: workerId, limit: limit, queues: queues, now: now, connection)
            }
        }
        var parameters: [String?] = [workerId, Self.text(now), Self.text(limit)]
        let sql: String
        switch queues {
        case nil: sql = Self.claimSQL.any
        case let queues? where queues.count == 1:
            sql = Self.claimSQL.one
            parameters.append(queues[0])
        case let queues?:
            sql = Self.claimSQL.many
            parameters.append(Self.array(queues))
        }
        var jobs = try selectJobs(connection, sql, parameters)
        // RETURNING gives rows in no promised order.
        jobs.sort { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            if a.runAt != b.runAt { return a.runAt < b.runAt }
            return a.id < b.id
        }
        return jobs
    }

    /// The schedule that fired a job (`_scheduleId` of its args), or NULL.
    private static let scheduleIdColumn = """
        CASE WHEN jsonb_typeof(args -> '\(ReservedArgs.scheduleId)') = 'number' \
        THEN (args ->> '\(ReservedArgs.scheduleId)')::numeric::bigint END
        """

    /// One job's completion, the raw limit smrt-bench measures the store against (one job per transaction); the
    /// store itself completes every job of a commit at once (`completeBatchSQL`).
    package static let completeSQL = """
        UPDATE _smrt_jobs SET status = 'completed', result = $1::jsonb, result_pointer = COALESCE($2::text, result_pointer), \
        completed_at = $3::timestamptz, updated_at = $3::timestamptz, started_at = COALESCE($6::timestamptz, started_at), \
        worker_pid = $7::integer, worker_exit = $8::text \
        WHERE id = $4::bigint AND worker_id = $5::text AND status = 'running' \
        RETURNING \(scheduleIdColumn)
        """

    /// Every completed attempt of a `finish` in one statement (one round trip however many): one array parameter
    /// per column, joined on id; a row not running under the worker is left alone and absent from RETURNING.
    package static let completeBatchSQL = """
        UPDATE _smrt_jobs AS j SET status = 'completed', result = r.result::jsonb, \
        result_pointer = COALESCE(r.result_pointer, j.result_pointer), completed_at = $1::timestamptz, \
        updated_at = $1::timestamptz, started_at = COALESCE(r.started_at::timestamptz, j.started_at), \
        worker_pid = r.worker_pid, worker_exit = r.worker_exit \
        FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $7::integer[], $8::text[]) \
        AS r(id, result, result_pointer, started_at, worker_pid, worker_exit) \
        WHERE j.id = r.id AND j.worker_id = $6::text AND j.status = 'running' \
        RETURNING j.id, \(scheduleIdColumn.replacingOccurrences(of: "args", with: "j.args"))
        """

    /// A failed attempt: back to pending at $1 when a retry time is given and attempts remain, else failed.
    /// SET expressions all see the row as it was, so the CASEs agree with each other. $7 and $8 are the worker
    /// pid and how the attempt ended (a recovery: no pid, its reason).
    private static func failSQL(returning: String, also condition: String = "") -> String {
        let retrying = "$1::timestamptz IS NOT NULL AND attempts < max_attempts"
        return """
            UPDATE _smrt_jobs SET \
            status = CASE WHEN \(retrying) THEN 'pending' ELSE 'failed' END, \
            run_at = CASE WHEN \(retrying) THEN $1::timestamptz ELSE run_at END, \
            completed_at = CASE WHEN \(retrying) THEN NULL ELSE $3::timestamptz END, \
            worker_id = CASE WHEN \(retrying) THEN NULL ELSE worker_id END, \
            worker_heartbeat = CASE WHEN \(retrying) THEN NULL ELSE worker_heartbeat END, \
            last_error = $2::text, updated_at = $3::timestamptz, started_at = COALESCE($6::timestamptz, started_at), \
            worker_pid = $7::integer, worker_exit = $8::text \
            WHERE id = $4::bigint AND worker_id = $5::text AND status = 'running'\(condition) \
            RETURNING \(returning)
            """
    }

    private static let failSQL = failSQL(returning: "status, run_at, \(scheduleIdColumn)")
    private static let recoverSQL = failSQL(returning: jobColumns)
    /// `recoverSQL` for a row only as it was read: `$9` is its `xmin` then (any update since makes a new version).
    private static let recoverUnchangedSQL = failSQL(returning: jobColumns, also: " AND xmin = $9::xid")

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
        if reports.isEmpty { return ([], try claim(workerId: workerId, limit: limit, queues: queues, now: now)) }
        return try locked { connection in
            try connection.transaction {
                let finished = try finishRows(reports, workerId: workerId, now: now, connection)
                let claimed = try claimRows(workerId: workerId, limit: limit, queues: queues, now: now, connection)
                return (finished, claimed)
            }
        }
    }

    /// The results inside the caller's transaction; a job that ends for good is counted on its schedule. Notifies
    /// when any job changed.
    func finishRows(
        _ reports: [AttemptReport], workerId: String, now: Date, _ connection: PostgresConnection
    ) throws -> [FinishResult] {
        let nowText = Self.text(now)
        var written = [(result: FinishResult, scheduleId: Int64?)](repeating: (.notOwned, nil), count: reports.count)
        // Completions: one statement for all of them. A job id given twice is written once (the first report).
        var completedAt: [Int64: Int] = [:]
        for (index, report) in reports.enumerated() {
            if case .completed = report.outcome, completedAt[report.jobId] == nil { completedAt[report.jobId] = index }
        }
        if !completedAt.isEmpty {
            let completions = completedAt.values.sorted().map { reports[$0] }
            var results: [String?] = [], pointers: [String?] = []
            for report in completions {
                guard case .completed(let result, let pointer) = report.outcome else { continue }
                results.append(Self.text(result))
                pointers.append(pointer)
            }
            let rows = try connection.query(
                Self.completeBatchSQL,
                [
                    nowText, Self.array(completions.map { String($0.jobId) }), Self.array(results), Self.array(pointers),
                    Self.array(completions.map { Self.text($0.startedAt) }), workerId,
                    Self.array(completions.map { $0.workerPid.map(String.init) }), Self.array(completions.map(\.workerExit)),
                ])
            for index in 0..<rows.rowCount {
                let row = rows.row(index)
                if let position = completedAt[row.int64(0)] {
                    written[position] = (.completed, row.isNull(1) ? nil : row.int64(1))
                }
            }
        }
        for (index, report) in reports.enumerated() {
            guard case .failed(let error, let retryAt) = report.outcome else { continue }
            let rows = try connection.query(
                Self.failSQL,
                [
                    Self.text(retryAt), error, nowText, Self.text(report.jobId), workerId, Self.text(report.startedAt),
                    report.workerPid.map(String.init), report.workerExit,
                ])
            guard rows.rowCount > 0 else { continue }
            let row = rows.row(0)
            if row.string(0) == JobStatus.pending.rawValue, let runAt = row.date(1) {
                written[index] = (.retrying(at: runAt), nil)
            } else {
                written[index] = (.failed, row.isNull(2) ? nil : row.int64(2))
            }
        }
        for (report, outcome) in zip(reports, written) {
            guard let scheduleId = outcome.scheduleId else { continue }
            let message: String? = if case .failed(let error, _) = report.outcome { error } else { nil }
            try countScheduleRun(scheduleId: scheduleId, success: outcome.result == .completed, message: message, now: now, connection)
        }
        let results = written.map(\.result)
        if results.contains(where: { $0 != .notOwned }) { try notify(connection) }
        return results
    }

    private static let releaseSQL = """
        UPDATE _smrt_jobs SET status = 'pending', attempts = GREATEST(attempts - 1, 0), worker_id = NULL, \
        worker_heartbeat = NULL, started_at = NULL, updated_at = $1::timestamptz \
        WHERE id = ANY($2::bigint[]) AND worker_id = $3::text AND status = 'running'
        """

    @discardableResult
    public func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int {
        if jobIds.isEmpty { return 0 }
        let ids = "{" + jobIds.map(String.init).joined(separator: ",") + "}"
        return try locked { connection in
            try connection.transaction {
                let released = try connection.query(Self.releaseSQL, [Self.text(now), ids, workerId]).affectedRows
                if released > 0 { try notify(connection) }
                return released
            }
        }
    }

    static let cancelSQL = """
        UPDATE _smrt_jobs SET status = 'cancelled', completed_at = $1::timestamptz, updated_at = $1::timestamptz \
        WHERE id = $2::bigint AND status IN ('pending', 'running', 'failed') RETURNING \(jobColumns)
        """

    public func cancel(id: Int64, now: Date) throws -> SmrtJob {
        try transition(id: id, action: "cancel", sql: Self.cancelSQL, now: now) { cancelled, before, connection in
            // A scheduled job that never finished holds one of its schedule's max_concurrent slots: free it,
            // or a cancel would block the schedule for good. (A failed job was counted when it failed.)
            if let scheduleId = cancelled.scheduleId, before == .pending || before == .running {
                try countScheduleRun(scheduleId: scheduleId, success: false, message: "cancelled", now: now, connection)
            }
        }
    }

    static let retrySQL = """
        UPDATE _smrt_jobs SET status = 'pending', attempts = 0, run_at = $1::timestamptz, last_error = NULL, \
        started_at = NULL, completed_at = NULL, worker_id = NULL, worker_heartbeat = NULL, updated_at = $1::timestamptz, \
        progress = NULL, worker_pid = NULL, worker_exit = NULL \
        WHERE id = $2::bigint AND status <> 'completed' RETURNING \(jobColumns)
        """

    public func retry(id: Int64, now: Date) throws -> SmrtJob {
        do {
            return try transition(id: id, action: "retry", sql: Self.retrySQL, now: now)
        } catch let error as SmrtJobsError where Self.isUniqueConflict(error) {
            throw try uniqueKeyHeld(jobId: id) ?? error
        }
    }

    /// Locks the job's row, runs a conditional UPDATE of it (now as $1, id as $2) and notifies; when it
    /// matches nothing, tells a missing job from one in the wrong state.
    private func transition(
        id: Int64, action: String, sql: String, now: Date,
        afterwards: (_ updated: SmrtJob, _ before: JobStatus?, PostgresConnection) throws -> Void = { _, _, _ in }
    ) throws -> SmrtJob {
        try locked { connection in
            try connection.transaction {
                let rows = try connection.query("SELECT status FROM _smrt_jobs WHERE id = $1::bigint FOR UPDATE", [Self.text(id)])
                guard rows.rowCount > 0 else { throw SmrtJobsError.jobNotFound(id) }
                let before = rows.row(0).string(0).flatMap(JobStatus.init(rawValue:))
                guard let updated = try selectJobs(connection, sql, [Self.text(now), Self.text(id)]).first else {
                    throw SmrtJobsError.invalidTransition(jobId: id, from: before ?? .pending, action: action)
                }
                try afterwards(updated, before, connection)
                try notify(connection)
                return updated
            }
        }
    }

    public func heartbeat(workerId: String, now: Date) throws {
        try locked { connection in
            try connection.query(
                "UPDATE _smrt_jobs SET worker_heartbeat = $1::timestamptz WHERE worker_id = $2::text AND status = 'running'",
                [Self.text(now), workerId])
        }
    }

    /// A dead owner's running jobs with the version of each row (`xmin`, last column), unless its lease is no
    /// longer as judged: `$2` is the judged heartbeat with its slack (NULL: it had no row, and any row now means
    /// it registered since).
    private static let deadOwnerJobsSQL = """
        SELECT \(jobColumns), xmin::text FROM _smrt_jobs WHERE worker_id = $1::text AND status = 'running' \
        AND NOT EXISTS (SELECT 1 FROM _smrt_workers WHERE id = $1::text \
        AND ($2::timestamptz IS NULL OR heartbeat > $2::timestamptz)) ORDER BY id
        """

    /// One READ COMMITTED transaction, in which no renewal followed by a claim can lose its new job:
    /// - a row judged: its lease row is locked first (`FOR UPDATE` reads the newest committed version, after
    ///   waiting for a renewal in progress). Renewed or gone: nothing is taken. Otherwise no renewal (an UPDATE or
    ///   the upsert of `registerWorker`) can commit before this transaction does, so a renewal made after the
    ///   judgement, and every claim under it, comes after this commit. The row is removed here.
    /// - no row judged: there is no row to lock, so the condition sits in the statement that reads the jobs
    ///   (`deadOwnerJobsSQL`): a registration committed before that statement's snapshot hides every job; one
    ///   committed after it comes before any claim under the new lease, whose jobs that snapshot saw pending and
    ///   did not select.
    /// The jobs are read without locks and each is updated only while its row is the version that was read
    /// (`xmin`): a plain `FOR UPDATE` would re-check a row changed meanwhile against its newest version, so a job
    /// of the snapshot that its owner finished or released and claimed again under a new lease would be taken.
    public func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        // A millisecond of slack for rounding to microseconds; a renewal moves the heartbeat by seconds.
        var renewedAfter: Date?
        if case .row(let judged) = lease { renewedAfter = judged.addingTimeInterval(0.001) }
        return try locked { connection in
            try connection.transaction {
                if let renewedAfter {
                    let row = try connection.query(
                        "SELECT heartbeat FROM _smrt_workers WHERE id = $1::text FOR UPDATE", [ownerId])
                    guard row.rowCount == 1, let heartbeat = row.row(0).date(0), heartbeat <= renewedAfter else {
                        return nil
                    }
                }
                let rows = try connection.query(Self.deadOwnerJobsSQL, [ownerId, Self.text(renewedAfter)]).rows
                let jobs = try rows.map { try $0.decodeJob(strategies: &retryStrategies) }
                let versions = rows.map { $0.string(Int32(Self.jobColumnNames.count)) }
                let recovered = try recover(jobs, versions: versions, reason: reason, now: now, nextRunAt: nextRunAt, connection)
                if renewedAfter != nil {
                    try connection.query("DELETE FROM _smrt_workers WHERE id = $1::text", [ownerId])
                } else if recovered.isEmpty,
                    try connection.query("SELECT 1 FROM _smrt_workers WHERE id = $1::text", [ownerId]).rowCount > 0
                {
                    return nil  // it registered: alive
                }
                return recovered
            }
        }
    }

    public func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        try locked { connection in
            try connection.transaction {
                let running = try selectJobs(
                    connection,
                    """
                    SELECT \(Self.jobColumns) FROM _smrt_jobs WHERE status = 'running' \
                    AND (worker_heartbeat IS NULL OR worker_heartbeat < $1::timestamptz) ORDER BY id FOR UPDATE
                    """, [Self.text(heartbeatBefore)])
                return try recover(running, reason: reason, now: now, nextRunAt: nextRunAt, connection)
            }
        }
    }

    /// Fails the attempt of each job as its owner would have (same conditional UPDATE as `finish`), with the
    /// retry time `nextRunAt` picks; a job failed for good is counted on its schedule. The attempt's worker exit
    /// is the reason (its process, on a dead owner's host, is not known). With `versions` (the `xmin` each row was
    /// read at), a row changed since it was read is left alone.
    private func recover(
        _ jobs: [SmrtJob], versions: [String?]? = nil, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?,
        _ connection: PostgresConnection
    ) throws -> [RecoveredJob] {
        var recovered: [RecoveredJob] = []
        for (index, job) in jobs.enumerated() {
            let retryAt = nextRunAt(job)
            var parameters = [Self.text(retryAt), reason, Self.text(now), Self.text(job.id), job.workerId, nil, nil, reason]
            if let versions { parameters.append(versions[index]) }
            guard let updated = try selectJobs(
                connection, versions == nil ? Self.recoverSQL : Self.recoverUnchangedSQL, parameters
            ).first else { continue }
            let result: FinishResult = updated.status == .pending ? .retrying(at: updated.runAt) : .failed
            if result == .failed, let scheduleId = updated.scheduleId {
                try countScheduleRun(scheduleId: scheduleId, success: false, message: reason, now: now, connection)
            }
            recovered.append(RecoveredJob(job: updated, result: result))
        }
        if !recovered.isEmpty { try notify(connection) }
        return recovered
    }
}
