import Foundation
import SmrtJobs

/// Progress, finished jobs per minute and job pages, as the SQL stores answer them.
extension MemoryJobStore: MonitoringStore {
    @discardableResult
    public func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int {
        if updates.isEmpty { return 0 }
        return try database.write { tables in Self.recordProgress(updates, workerId: workerId, &tables) }
    }

    /// One transaction: the progress, the results, then the claim.
    public func finish(
        _ reports: [AttemptReport], recordingProgress progress: [ProgressUpdate], workerId: String, now: Date,
        thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        if reports.isEmpty && progress.isEmpty && limit <= 0 { return ([], []) }
        let now = Self.stored(now)
        return try database.write { tables in
            Self.recordProgress(progress, workerId: workerId, &tables)
            let finished = Self.finish(reports, workerId: workerId, now: now, &tables)
            let claimed = Self.claim(workerId: workerId, limit: limit, queues: queues, now: now, &tables)
            return (finished, claimed)
        }
    }

    /// Stores the last update of each job still running under `workerId`; how many.
    @discardableResult
    static func recordProgress(_ updates: [ProgressUpdate], workerId: String, _ tables: inout MemoryTables) -> Int {
        var stored = 0
        for update in ProgressUpdate.latestPerJob(updates) {
            guard let job = tables.jobs[update.jobId], job.status == .running, job.workerId == workerId else { continue }
            var progress = update.progress
            progress.updatedAt = Self.stored(progress.updatedAt)
            tables.setProgress(progress, ofJob: job.id)
            stored += 1
        }
        return stored
    }

    public func finishedPerMinute(since: Date) throws -> [MinuteTally] {
        let since = Self.stored(since)
        return try database.read { tables in
            var tallies: [Date: MinuteTally] = [:]
            for job in tables.jobs.values where job.status == .completed || job.status == .failed {
                guard let completedAt = job.completedAt, completedAt >= since else { continue }
                let minute = Date(timeIntervalSince1970: (completedAt.timeIntervalSince1970 / 60).rounded(.down) * 60)
                var tally = tallies[minute] ?? MinuteTally(minute: minute, completed: 0, failed: 0)
                if job.status == .completed { tally.completed += 1 } else { tally.failed += 1 }
                tallies[minute] = tally
            }
            return tallies.values.sorted { $0.minute < $1.minute }
        }
    }

    /// Walks the ids down from the cursor as the SQL stores walk the table (or, for `indexedStatus`, that
    /// status's index), at most `scanLimit` rows.
    public func jobPage(_ query: JobPageQuery) throws -> JobPage {
        try query.validate()
        return try database.read { tables in
            let before = query.beforeId ?? .max
            let indexed = query.indexedStatus
            func readable(_ id: Int64) -> Bool { indexed == nil || tables.jobs[id]?.status == indexed }
            var matches: [SmrtJob] = []
            var rows = 0
            var lowestId: Int64?
            for id in tables.jobIds.reversed() where id < before && readable(id) {
                if rows == query.scanLimit || matches.count > query.limit { break }
                rows += 1
                lowestId = id
                if let job = tables.jobs[id], query.matches(job) { matches.append(job) }
            }
            return try JobPage.assemble(
                matches, query, window: { (rows, lowestId) },
                hasOlder: { id in tables.jobIds.contains { $0 < id && readable($0) } })
        }
    }
}
