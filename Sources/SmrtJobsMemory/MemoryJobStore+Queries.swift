import Foundation
import SmrtJobs

/// Reading jobs, counting them, deleting old ones.
extension MemoryJobStore {
    public func get(id: Int64) throws -> SmrtJob? {
        try database.read { $0.jobs[id] }
    }

    /// Newest first (id DESC); `status` and `queue` filters combine. A negative limit means no limit.
    public func list(_ query: JobQuery) throws -> [SmrtJob] {
        try database.read { tables in
            // Running jobs are few and runners list them at every heartbeat: read them through their index.
            if query.status == .running {
                return Self.page(tables.running.sorted(by: >), query, tables)
            }
            return Self.page(tables.jobIds.reversed(), query, tables)
        }
    }

    /// Reads every pending key of the queues: linear, as the rest of this store for tests and small queues.
    public func soonestRunAt(after: Date, queues: [String]?) throws -> Date? {
        let after = Self.stored(after)
        return try database.read { tables in
            let names = queues ?? Array(tables.pending.keys)
            return names.compactMap { tables.pending[$0]?.lazy.filter { $0.runAt > after }.map(\.runAt).min() }.min()
        }
    }

    private static func page(_ ids: some Sequence<Int64>, _ query: JobQuery, _ tables: MemoryTables) -> [SmrtJob] {
        let limit = query.limit < 0 ? Int.max : query.limit
        var toSkip = max(0, query.offset)
        var jobs: [SmrtJob] = []
        guard limit > 0 else { return jobs }
        for id in ids {
            guard let job = tables.jobs[id] else { continue }
            if let status = query.status, job.status != status { continue }
            if let queue = query.queue, job.queue != queue { continue }
            if toSkip > 0 {
                toSkip -= 1
                continue
            }
            jobs.append(job)
            if jobs.count == limit { break }
        }
        return jobs
    }

    public func stats(queue: String?) throws -> JobStats {
        try database.read { tables in
            var stats = JobStats()
            for job in tables.jobs.values where queue == nil || job.queue == queue {
                switch job.status {
                case .pending: stats.pending += 1
                case .running: stats.running += 1
                case .completed: stats.completed += 1
                case .failed: stats.failed += 1
                case .cancelled: stats.cancelled += 1
                }
            }
            return stats
        }
    }

    /// Deletes the oldest finished jobs first (by completedAt), completed, then failed, then cancelled, until
    /// `limit` is reached. Also forgets schedule fires older than the earliest cutoff. Jobs without completedAt
    /// are never deleted.
    public func cleanup(_ options: CleanupOptions, now: Date) throws -> Int {
        let cutoffs: [(JobStatus, Date)] = [
            (.completed, options.completedBefore), (.failed, options.failedBefore), (.cancelled, options.cancelledBefore),
        ].compactMap { status, date in date.map { (status, Self.stored($0)) } }
        if cutoffs.isEmpty { return 0 }
        return try database.write { tables in
            var total = 0
            for (status, cutoff) in cutoffs {
                var remaining = Int.max
                if let limit = options.limit {
                    remaining = max(0, limit - total)
                    if remaining == 0 { break }
                }
                let old = tables.jobs.values.compactMap { job -> (completedAt: Date, id: Int64)? in
                    guard job.status == status, let completedAt = job.completedAt, completedAt < cutoff else { return nil }
                    return (completedAt, job.id)
                }
                if options.dryRun {
                    total += min(old.count, remaining)
                    continue
                }
                let oldest = old.sorted { ($0.completedAt, $0.id) < ($1.completedAt, $1.id) }.prefix(remaining)
                tables.deleteJobs(Set(oldest.map(\.id)))
                total += oldest.count
            }
            if !options.dryRun, let earliest = cutoffs.map(\.1).min() {
                tables.forgetFires(before: earliest)
            }
            return total
        }
    }
}
