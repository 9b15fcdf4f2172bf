import Foundation
import SmrtJobs

/// Unique jobs (`JobSpec.uniqueKey`) and bulk retry and cancel, as the SQL stores do them, under the database's
/// lock.
extension MemoryJobStore {
    public func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool) {
        try spec.validate()
        let now = Self.stored(now)
        return try database.write { tables in Self.insertReportingExisting(spec, now: now, &tables) }
    }

    public func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob] {
        // Validate everything first: a bad spec must not leave half a batch behind.
        for spec in batch { try spec.validate() }
        if batch.isEmpty { return [] }
        let now = Self.stored(now)
        return try database.write { tables in
            batch.map { spec in
                let (job, existing) = Self.insertReportingExisting(spec, now: now, &tables)
                return EnqueuedJob(id: job.id, existing: existing)
            }
        }
    }

    /// The pending or running holder of the key; else, with a window, the job with the key that finished last
    /// within it; else a new job.
    static func insertReportingExisting(
        _ spec: JobSpec, now: Date, _ tables: inout MemoryTables
    ) -> (job: SmrtJob, existing: Bool) {
        guard let key = spec.uniqueKey else { return (insert(spec, now: now, &tables), false) }
        if let holder = tables.activeUniqueKeys[key], let job = tables.jobs[holder] { return (job, true) }
        if let windowStart = spec.uniqueWindowStart(now: now).map(stored) {
            let finished = tables.jobs.values
                .filter { $0.uniqueKey == key && ($0.completedAt.map { $0 >= windowStart } ?? false) }
                .max { a, b in (a.completedAt!, a.id) < (b.completedAt!, b.id) }
            if let finished { return (finished, true) }
        }
        return (insert(spec, now: now, &tables), false)
    }

    public func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        var filter = filter
        filter.statuses.removeAll { $0 == .completed }
        let now = Self.stored(now)
        return try bulk(filter, limit: limit, dryRun: dryRun) { job, tables, takenKeys in
            if let key = job.uniqueKey {
                if takenKeys.contains(key) || tables.activeUniqueKeys[key].map({ $0 != job.id }) == true { return false }
                takenKeys.insert(key)
            }
            if dryRun { return true }
            var retried = job
            retried.status = .pending
            retried.attempts = 0
            retried.runAt = now
            retried.lastError = nil
            retried.startedAt = nil
            retried.completedAt = nil
            retried.workerId = nil
            retried.workerHeartbeat = nil
            retried.updatedAt = now
            retried.progress = nil
            retried.workerPid = nil
            retried.workerExit = nil
            tables.updateJob(retried)
            return true
        }
    }

    public func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        var filter = filter
        filter.statuses.removeAll { $0 == .completed || $0 == .cancelled }
        let now = Self.stored(now)
        return try bulk(filter, limit: limit, dryRun: dryRun) { job, tables, _ in
            if dryRun { return true }
            var cancelled = job
            cancelled.status = .cancelled
            cancelled.completedAt = now
            cancelled.updatedAt = now
            tables.updateJob(cancelled)
            if job.status == .pending || job.status == .running {
                Self.recordScheduleCompletion(of: cancelled, success: false, message: "cancelled", now: now, &tables)
            }
            return true
        }
    }

    /// At most `limit` jobs matching `filter` (ascending ids), each passed to `act` in one write.
    private func bulk(
        _ filter: JobFilter, limit: Int, dryRun: Bool,
        _ act: (SmrtJob, inout MemoryTables, inout Set<String>) -> Bool
    ) throws -> BulkActionResult {
        if filter.statuses.isEmpty || limit <= 0 { return BulkActionResult(ids: [], lastId: nil) }
        func body(_ tables: inout MemoryTables) -> BulkActionResult {
            var jobs: [SmrtJob] = []
            for id in tables.jobIds where filter.afterId.map({ id > $0 }) ?? true {
                guard let job = tables.jobs[id], filter.matches(job) else { continue }
                jobs.append(job)
                if jobs.count == limit { break }
            }
            var result = BulkActionResult(ids: [], lastId: jobs.last?.id)
            var takenKeys: Set<String> = []
            for job in jobs {
                if act(job, &tables, &takenKeys) { result.ids.append(job.id) } else { result.skipped.append(job.id) }
            }
            return result
        }
        if dryRun {
            return try database.read { tables in
                var copy = tables
                return body(&copy)
            }
        }
        return try database.write { tables in body(&tables) }
    }
}
