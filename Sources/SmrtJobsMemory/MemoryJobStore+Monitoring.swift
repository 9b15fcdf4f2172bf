import Foundation
import SmrtJobs

/// Progress, finished jobs per minute and job pages, as the SQL stores answer them.
extension MemoryJobStore: MonitoringStore {
    @discardableResult
    public func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int {
        if updates.isEmpty { return 0 }
        return try database.write { tables in
            var stored = 0
            for update in updates {
                guard let job = tables.jobs[update.jobId], job.status == .running, job.workerId == workerId else { continue }
                var progress = update.progress
                progress.updatedAt = Self.stored(progress.updatedAt)
                tables.setProgress(progress, ofJob: job.id)
                stored += 1
            }
            return stored
        }
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

    public func jobPage(_ query: JobPageQuery) throws -> JobPage {
        try database.read { tables in
            var jobs: [SmrtJob] = []
            var scanned = 0
            var lowestScanned: Int64?
            for id in tables.jobIds.reversed() {
                if let beforeId = query.beforeId, id >= beforeId { continue }
                if jobs.count >= query.limit { return JobPage(jobs: jobs, nextBeforeId: jobs.last?.id, scanLimitReached: false) }
                if scanned >= query.scanLimit {
                    return JobPage(jobs: jobs, nextBeforeId: lowestScanned, scanLimitReached: true)
                }
                scanned += 1
                lowestScanned = id
                if let job = tables.jobs[id], query.matches(job) { jobs.append(job) }
            }
            return JobPage(jobs: jobs, nextBeforeId: nil, scanLimitReached: false)
        }
    }
}
