import Foundation
import SmrtJobs

/// The rows of one in-memory queue database and the indexes over them.
///
/// Every change goes through a mutating method here, which keeps the indexes right and moves `revision`, so
/// `MemoryDatabase` knows whether a transaction changed anything (and the change signal must fire).
struct MemoryTables {
    /// Moves with every change.
    private(set) var revision: UInt64 = 0

    private(set) var jobs: [Int64: SmrtJob] = [:]
    /// Ids of `jobs`, ascending (ids only grow, so inserts append).
    private(set) var jobIds: [Int64] = []
    /// Pending jobs per queue, in claim order.
    private(set) var pending: [String: [ClaimKey]] = [:]
    /// Ids of running jobs.
    private(set) var running: Set<Int64> = []
    /// The pending or running job holding each unique key (the SQL stores' `_smrt_jobs_unique_active`).
    private(set) var activeUniqueKeys: [String: Int64] = [:]
    /// The last id given to a job or a schedule: ids are never reused, even after deletes.
    private var lastJobId: Int64 = 0
    private var lastScheduleId: Int64 = 0

    private(set) var schedules: [Int64: AgentSchedule] = [:]
    /// Fired slots per schedule, with when each was fired.
    private(set) var fires: [Int64: [Date: Date]] = [:]
    private(set) var workers: [String: WorkerRecord] = [:]

    // MARK: Jobs

    /// Stores a new job under the next id and returns it.
    mutating func insertJob(_ make: (_ id: Int64) -> SmrtJob) -> SmrtJob {
        lastJobId += 1
        let job = make(lastJobId)
        jobs[job.id] = job
        jobIds.append(job.id)
        index(job)
        revision += 1
        return job
    }

    /// Replaces a stored job by its new version.
    mutating func updateJob(_ job: SmrtJob) {
        guard let old = jobs[job.id] else { preconditionFailure("update of job \(job.id), which is not stored") }
        if old.status != job.status || old.queue != job.queue || old.priority != job.priority || old.runAt != job.runAt {
            unindex(old)
            index(job)
        }
        jobs[job.id] = job
        revision += 1
    }

    /// Stores a running job's latest progress. Leaves `revision` alone: progress wakes no claimer.
    mutating func setProgress(_ progress: JobProgress, ofJob id: Int64) {
        jobs[id]?.progress = progress
    }

    mutating func deleteJobs(_ ids: Set<Int64>) {
        guard !ids.isEmpty else { return }
        for id in ids {
            guard let job = jobs.removeValue(forKey: id) else { continue }
            unindex(job)
        }
        jobIds.removeAll { ids.contains($0) }
        revision += 1
    }

    private mutating func index(_ job: SmrtJob) {
        if let key = job.uniqueKey, job.status == .pending || job.status == .running {
            precondition(activeUniqueKeys[key] == nil, "unique key of job \(job.id) is held by another job")
            activeUniqueKeys[key] = job.id
        }
        switch job.status {
        case .pending:
            let key = ClaimKey(priority: job.priority, runAt: job.runAt, id: job.id)
            let position = pending[job.queue, default: []].insertionIndex(of: key)
            pending[job.queue, default: []].insert(key, at: position)
        case .running:
            running.insert(job.id)
        case .completed, .failed, .cancelled:
            break
        }
    }

    private mutating func unindex(_ job: SmrtJob) {
        if let key = job.uniqueKey, activeUniqueKeys[key] == job.id { activeUniqueKeys[key] = nil }
        switch job.status {
        case .pending:
            let key = ClaimKey(priority: job.priority, runAt: job.runAt, id: job.id)
            let position = pending[job.queue, default: []].insertionIndex(of: key)
            precondition(pending[job.queue]?[position] == key, "pending index lost job \(job.id)")
            pending[job.queue]?.remove(at: position)
            if pending[job.queue]?.isEmpty == true { pending[job.queue] = nil }
        case .running:
            running.remove(job.id)
        case .completed, .failed, .cancelled:
            break
        }
    }

    // MARK: Schedules

    mutating func insertSchedule(_ make: (_ id: Int64) -> AgentSchedule) -> AgentSchedule {
        lastScheduleId += 1
        let schedule = make(lastScheduleId)
        schedules[schedule.id] = schedule
        revision += 1
        return schedule
    }

    mutating func updateSchedule(_ schedule: AgentSchedule) {
        precondition(schedules[schedule.id] != nil, "update of schedule \(schedule.id), which is not stored")
        schedules[schedule.id] = schedule
        revision += 1
    }

    /// Removes the schedule and forgets its fires.
    mutating func deleteSchedule(id: Int64) {
        schedules[id] = nil
        fires[id] = nil
        revision += 1
    }

    mutating func recordFire(scheduleId: Int64, slot: Date, at firedAt: Date) {
        fires[scheduleId, default: [:]][slot] = firedAt
        revision += 1
    }

    /// Forgets fires made before `date`.
    mutating func forgetFires(before date: Date) {
        var changed = false
        for (scheduleId, slots) in fires {
            let kept = slots.filter { $0.value >= date }
            guard kept.count != slots.count else { continue }
            fires[scheduleId] = kept.isEmpty ? nil : kept
            changed = true
        }
        if changed { revision += 1 }
    }

    // MARK: Queues

    /// Rows of `_smrt_queues`: a queue without one is running and unlimited.
    private(set) var queues: [String: QueueInfo] = [:]

    mutating func setQueue(_ row: QueueInfo) {
        queues[row.name] = row
        revision += 1
    }

    // MARK: Workers

    mutating func setWorker(_ record: WorkerRecord) {
        workers[record.id] = record
        revision += 1
    }

    mutating func removeWorker(id: String) {
        guard workers.removeValue(forKey: id) != nil else { return }
        revision += 1
    }
}
