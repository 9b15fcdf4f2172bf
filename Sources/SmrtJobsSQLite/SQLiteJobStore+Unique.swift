import Foundation
import SmrtJobs

/// Unique jobs (`JobSpec.uniqueKey`) and bulk retry and cancel.
extension SQLiteJobStore {
    /// The insert of a job with a unique key: nothing when a pending or running job holds the key (the partial
    /// unique index `_smrt_jobs_unique_active` decides), else the new row.
    private static let insertUniqueSQL = """
        INSERT INTO _smrt_jobs (tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, \
        attempts, max_attempts, timeout, timeout_behavior, result_pointer, retry_strategy, created_at, updated_at, \
        unique_key) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15) \
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING \
        RETURNING \(jobColumns)
        """

    private static let activeByKeySQL = """
        SELECT \(jobColumns) FROM _smrt_jobs \
        WHERE unique_key = ?1 AND status IN ('pending', 'running') AND id <> ?2
        """

    private static let finishedByKeySQL = """
        SELECT \(jobColumns) FROM _smrt_jobs \
        WHERE unique_key = ?1 AND completed_at IS NOT NULL AND completed_at >= ?2 \
        ORDER BY completed_at DESC, id DESC LIMIT 1
        """

    public func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool) {
        try spec.validate()
        return try locked { connection in
            try connection.transaction { try insertReportingExisting(spec, now: now, connection) }
        }
    }

    public func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob] {
        // Validate everything first: a bad spec must not leave half a batch behind.
        for spec in batch { try spec.validate() }
        if batch.isEmpty { return [] }
        return try locked { connection in
            try connection.transaction {
                try batch.map { spec in
                    let (job, existing) = try insertReportingExisting(spec, now: now, connection)
                    return EnqueuedJob(id: job.id, existing: existing)
                }
            }
        }
    }

    /// One validated spec inside the caller's transaction. A later duplicate of a key in the same transaction
    /// meets the earlier job, which is pending.
    private func insertReportingExisting(
        _ spec: JobSpec, now: Date, _ connection: SQLiteConnection
    ) throws -> (job: SmrtJob, existing: Bool) {
        guard let key = spec.uniqueKey else { return (try insert(spec, now: now, connection), false) }
        if let windowStart = spec.uniqueWindowStart(now: now) {
            // A pending or running holder comes first; then one that finished within the window.
            if let active = try activeJob(key: key, excluding: nil, connection) { return (active, true) }
            if let finished = try selectJobs(Self.finishedByKeySQL, connection, bind: { s in
                try s.bind(key, 1)
                try s.bind(windowStart, 2)
            }).first {
                return (finished, true)
            }
        }
        let inserted = try selectJobs(Self.insertUniqueSQL, connection) { s in
            try bindInsert(s, spec, now: now)
            try s.bind(key, 15)
        }
        if let job = inserted.first { return (job, false) }
        // The write lock is held: the holder the index found is still there.
        guard let active = try activeJob(key: key, excluding: nil, connection) else {
            throw SmrtJobsError.database(kind: .other, message: "unique key '\(key)' conflicted, but no job holds it")
        }
        return (active, true)
    }

    /// The pending or running job holding `key` (other than job `excluding`).
    private func activeJob(key: String, excluding: Int64?, _ connection: SQLiteConnection) throws -> SmrtJob? {
        try selectJobs(Self.activeByKeySQL, connection) { s in
            try s.bind(key, 1)
            try s.bind(excluding ?? 0, 2)
        }.first
    }

    /// Whether `error` is the partial unique index refusing a second pending or running job with a key.
    static func isUniqueConflict(_ error: SmrtJobsError) -> Bool {
        guard case .database(.badInput, let message) = error else { return false }
        return message.contains("_smrt_jobs.unique_key")
    }

    /// The error for a retry of job `jobId` refused because another job holds its key, or nil when none does.
    func uniqueKeyHeld(jobId: Int64) throws -> SmrtJobsError? {
        try locked { connection in
            let key = try connection.withStatement("SELECT unique_key FROM _smrt_jobs WHERE id = ?1") { s in
                try s.bind(jobId, 1)
                return try s.step() ? s.string(0) : nil
            }
            guard let key, let holder = try activeJob(key: key, excluding: jobId, connection) else { return nil }
            return .uniqueKeyHeld(jobId: jobId, key: key, heldBy: holder.id)
        }
    }

    // MARK: Bulk actions

    public func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        var filter = filter
        filter.statuses.removeAll { $0 == .completed }
        return try bulk(filter, limit: limit, dryRun: dryRun) { job, connection, takenKeys in
            if let key = job.uniqueKey {
                // Another job holds the key (or took it earlier in this batch): left alone.
                if takenKeys.contains(key) { return false }
                if try activeJob(key: key, excluding: job.id, connection) != nil { return false }
                takenKeys.insert(key)
            }
            if dryRun { return true }
            return try connection.run(Self.retrySQL) { s in
                try s.bind(now, 1)
                try s.bind(job.id, 2)
            } > 0
        }
    }

    public func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        var filter = filter
        filter.statuses.removeAll { $0 == .completed || $0 == .cancelled }
        return try bulk(filter, limit: limit, dryRun: dryRun) { job, connection, _ in
            if dryRun { return true }
            let cancelled = try selectJobs(Self.cancelSQL, connection) { s in
                try s.bind(now, 1)
                try s.bind(job.id, 2)
            }.first
            guard let cancelled else { return false }
            // As `cancel`: a scheduled job that never finished frees its schedule's slot.
            if let scheduleId = cancelled.scheduleId, job.status == .pending || job.status == .running {
                try countScheduleRun(scheduleId: scheduleId, success: false, message: "cancelled", now: now, connection)
            }
            return true
        }
    }

    /// Reads at most `limit` jobs matching `filter` (ascending ids) and runs `act` on each, all in one
    /// transaction; `act` says whether it changed (or, dry, would change) the job.
    private func bulk(
        _ filter: JobFilter, limit: Int, dryRun: Bool,
        _ act: (SmrtJob, SQLiteConnection, inout Set<String>) throws -> Bool
    ) throws -> BulkActionResult {
        if filter.statuses.isEmpty || limit <= 0 { return BulkActionResult(ids: [], lastId: nil) }
        var conditions = ["status IN (\(filter.statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")))"]
        var binds: [(SQLiteStatement, Int32) throws -> Void] = []
        func add(_ condition: String, _ bind: @escaping (SQLiteStatement, Int32) throws -> Void) {
            binds.append(bind)
            conditions.append(condition.replacingOccurrences(of: "?", with: "?\(binds.count + 1)"))
        }
        if let queue = filter.queue { add("queue = ?") { try $0.bind(queue, $1) } }
        if let objectType = filter.objectType { add("object_type = ?") { try $0.bind(objectType, $1) } }
        if let method = filter.method { add("method = ?") { try $0.bind(method, $1) } }
        if let since = filter.since { add("COALESCE(completed_at, updated_at) >= ?") { try $0.bind(since, $1) } }
        if let afterId = filter.afterId { add("id > ?") { try $0.bind(afterId, $1) } }
        let sql = "SELECT \(Self.jobColumns) FROM _smrt_jobs WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?1"
        return try locked { connection in
            try connection.transaction(immediate: true) {
                let jobs = try selectJobs(sql, connection) { s in
                    try s.bind(limit, 1)
                    for (index, bind) in binds.enumerated() { try bind(s, Int32(index + 2)) }
                }
                var result = BulkActionResult(ids: [], lastId: jobs.last?.id)
                var takenKeys: Set<String> = []
                for job in jobs {
                    if try act(job, connection, &takenKeys) { result.ids.append(job.id) } else { result.skipped.append(job.id) }
                }
                return result
            }
        }
    }
}
