import Foundation
import SmrtJobs

/// Unique jobs (`JobSpec.uniqueKey`) and bulk retry and cancel.
extension PostgresJobStore {
    /// The insert of a job with a unique key: nothing when a pending or running job holds the key (the partial
    /// unique index `_smrt_jobs_unique_active` decides, waiting for a concurrent inserter's commit), else the row.
    private static let insertUniqueSQL = """
        INSERT INTO _smrt_jobs (tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, \
        attempts, max_attempts, timeout, timeout_behavior, result_pointer, retry_strategy, created_at, updated_at, \
        unique_key) \
        VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::timestamptz, $8::integer, 'pending', 0, \
        $9::integer, $10::bigint, $11::text, $12::text, $13::jsonb, $14::timestamptz, $14::timestamptz, $15::text) \
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING \
        RETURNING \(jobColumns)
        """

    private static let activeByKeySQL = """
        SELECT \(jobColumns) FROM _smrt_jobs \
        WHERE unique_key = $1::text AND status IN ('pending', 'running') AND id <> $2::bigint
        """

    private static let finishedByKeySQL = """
        SELECT \(jobColumns) FROM _smrt_jobs \
        WHERE unique_key = $1::text AND completed_at IS NOT NULL AND completed_at >= $2::timestamptz \
        ORDER BY completed_at DESC, id DESC LIMIT 1
        """

    public func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool) {
        try spec.validate()
        return try locked { connection in
            try connection.transaction {
                let outcome = try insertReportingExisting(spec, now: now, connection)
                if !outcome.existing { try notify(connection) }
                return outcome
            }
        }
    }

    public func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob] {
        // Validate everything first: a bad spec must not leave half a batch behind.
        for spec in batch { try spec.validate() }
        if batch.isEmpty { return [] }
        return try locked { connection in
            try connection.transaction {
                let jobs = try batch.map { spec in
                    let (job, existing) = try insertReportingExisting(spec, now: now, connection)
                    return EnqueuedJob(id: job.id, existing: existing)
                }
                if jobs.contains(where: { !$0.existing }) { try notify(connection) }
                return jobs
            }
        }
    }

    /// One validated spec inside the caller's transaction (which notifies).
    private func insertReportingExisting(
        _ spec: JobSpec, now: Date, _ connection: PostgresConnection
    ) throws -> (job: SmrtJob, existing: Bool) {
        guard let key = spec.uniqueKey else { return (try insert(spec, now: now, connection), false) }
        let windowStart = spec.uniqueWindowStart(now: now)
        // The holder the index found may finish before it is read: then try again (each statement sees what
        // was committed before it began).
        for _ in 0..<5 {
            if let windowStart {
                // A pending or running holder comes first; then one that finished within the window.
                if let active = try activeJob(key: key, excluding: nil, connection) { return (active, true) }
                if let finished = try selectJobs(connection, Self.finishedByKeySQL, [key, Self.text(windowStart)]).first {
                    return (finished, true)
                }
            }
            let inserted = try selectJobs(connection, Self.insertUniqueSQL, insertParameters(spec, now: now) + [key])
            if let job = inserted.first { return (job, false) }
            if let active = try activeJob(key: key, excluding: nil, connection) { return (active, true) }
        }
        throw SmrtJobsError.database(kind: .busy, message: "unique key '\(key)' kept changing hands; try again")
    }

    /// The pending or running job holding `key` (other than job `excluding`).
    private func activeJob(key: String, excluding: Int64?, _ connection: PostgresConnection) throws -> SmrtJob? {
        try selectJobs(connection, Self.activeByKeySQL, [key, Self.text(excluding ?? 0)]).first
    }

    /// Whether `error` is the partial unique index refusing a second pending or running job with a key.
    static func isUniqueConflict(_ error: SmrtJobsError) -> Bool {
        guard case .database(.badInput, let message) = error else { return false }
        return message.contains("_smrt_jobs_unique_active")
    }

    /// The error for a retry of job `jobId` refused because another job holds its key, or nil when none does.
    func uniqueKeyHeld(jobId: Int64) throws -> SmrtJobsError? {
        try locked { connection in
            let rows = try connection.query("SELECT unique_key FROM _smrt_jobs WHERE id = $1::bigint", [Self.text(jobId)])
            guard rows.rowCount > 0, let key = rows.row(0).string(0),
                let holder = try activeJob(key: key, excluding: jobId, connection)
            else { return nil }
            return .uniqueKeyHeld(jobId: jobId, key: key, heldBy: holder.id)
        }
    }

    // MARK: Bulk actions

    public func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        var filter = filter
        filter.statuses.removeAll { $0 == .completed }
        return try bulk(filter, limit: limit, dryRun: dryRun) { job, connection, takenKeys in
            let parameters = [Self.text(now), Self.text(job.id)]
            guard let key = job.uniqueKey else {
                return dryRun ? true : try connection.query(Self.retrySQL, parameters).rowCount > 0
            }
            // Another job holds the key (or took it earlier in this batch): left alone.
            if takenKeys.contains(key) { return false }
            if try activeJob(key: key, excluding: job.id, connection) != nil { return false }
            takenKeys.insert(key)
            if dryRun { return true }
            // A concurrent enqueue may still take the key first: the savepoint keeps the batch alive.
            try connection.exec("SAVEPOINT smrt_unique_retry")
            do {
                let retried = try connection.query(Self.retrySQL, parameters).rowCount > 0
                try connection.exec("RELEASE SAVEPOINT smrt_unique_retry")
                return retried
            } catch let error as SmrtJobsError where Self.isUniqueConflict(error) {
                try connection.exec("ROLLBACK TO SAVEPOINT smrt_unique_retry")
                return false
            }
        }
    }

    public func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        var filter = filter
        filter.statuses.removeAll { $0 == .completed || $0 == .cancelled }
        return try bulk(filter, limit: limit, dryRun: dryRun) { job, connection, _ in
            if dryRun { return true }
            guard let cancelled = try selectJobs(connection, Self.cancelSQL, [Self.text(now), Self.text(job.id)]).first
            else { return false }
            // As `cancel`: a scheduled job that never finished frees its schedule's slot.
            if let scheduleId = cancelled.scheduleId, job.status == .pending || job.status == .running {
                try countScheduleRun(scheduleId: scheduleId, success: false, message: "cancelled", now: now, connection)
            }
            return true
        }
    }

    /// Locks at most `limit` jobs matching `filter` (ascending ids) and runs `act` on each, all in one
    /// transaction (which notifies when anything changed); `act` says whether it changed (or, dry, would change)
    /// the job.
    private func bulk(
        _ filter: JobFilter, limit: Int, dryRun: Bool,
        _ act: (SmrtJob, PostgresConnection, inout Set<String>) throws -> Bool
    ) throws -> BulkActionResult {
        if filter.statuses.isEmpty || limit <= 0 { return BulkActionResult(ids: [], lastId: nil) }
        var parameters: [String?] = [Self.text(limit), Self.array(filter.statuses.map(\.rawValue))]
        var conditions = ["status = ANY($2::text[])"]
        func add(_ condition: String, _ value: String?) {
            parameters.append(value)
            conditions.append(condition.replacingOccurrences(of: "$?", with: "$\(parameters.count)"))
        }
        if let queue = filter.queue { add("queue = $?::text", queue) }
        if let objectType = filter.objectType { add("object_type = $?::text", objectType) }
        if let method = filter.method { add("method = $?::text", method) }
        if let since = filter.since { add("COALESCE(completed_at, updated_at) >= $?::timestamptz", Self.text(since)) }
        if let afterId = filter.afterId { add("id > $?::bigint", Self.text(afterId)) }
        let sql = """
            SELECT \(Self.jobColumns) FROM _smrt_jobs WHERE \(conditions.joined(separator: " AND ")) \
            ORDER BY id LIMIT $1::bigint\(dryRun ? "" : " FOR UPDATE")
            """
        return try locked { connection in
            try connection.transaction {
                let jobs = try selectJobs(connection, sql, parameters)
                var result = BulkActionResult(ids: [], lastId: jobs.last?.id)
                var takenKeys: Set<String> = []
                for job in jobs {
                    if try act(job, connection, &takenKeys) { result.ids.append(job.id) } else { result.skipped.append(job.id) }
                }
                if !dryRun && !result.ids.isEmpty { try notify(connection) }
                return result
            }
        }
    }
}
