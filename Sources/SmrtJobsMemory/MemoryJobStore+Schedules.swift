import Foundation
import SmrtJobs

/// `ScheduleStore`: schedules, and fires made idempotent by a record of every fired (schedule, slot).
extension MemoryJobStore {
    public func createSchedule(
        _ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?, now: Date
    ) throws -> AgentSchedule {
        try spec.validateFields()
        let now = Self.stored(now)
        return try database.write { tables in
            tables.insertSchedule { id in
                AgentSchedule(
                    id: id, tenantId: spec.tenantId, agentType: spec.agentType, agentId: spec.agentId,
                    agentConfig: spec.agentConfig, cron: spec.cron, timezone: spec.timezone, enabled: spec.enabled,
                    status: status, nextRun: nextRun.map(Self.stored), lastError: lastError,
                    maxConcurrent: spec.maxConcurrent, timeout: spec.timeout, method: spec.method,
                    methodArgs: spec.methodArgs, createdAt: now, updatedAt: now)
            }
        }
    }

    public func getSchedule(id: Int64) throws -> AgentSchedule? {
        try database.read { $0.schedules[id] }
    }

    /// By id.
    public func listSchedules() throws -> [AgentSchedule] {
        try database.read { tables in tables.schedules.values.sorted { $0.id < $1.id } }
    }

    public func updateSchedule(
        id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??, now: Date
    ) throws -> AgentSchedule {
        let now = Self.stored(now)
        return try database.write { tables in
            guard var schedule = tables.schedules[id] else { throw SmrtJobsError.scheduleNotFound(id) }
            if let enabled { schedule.enabled = enabled }
            if let status { schedule.status = status }
            if let nextRun { schedule.nextRun = nextRun.map(Self.stored) }
            if let lastError { schedule.lastError = lastError }
            schedule.updatedAt = now
            tables.updateSchedule(schedule)
            return schedule
        }
    }

    /// Also forgets the schedule's fires.
    public func deleteSchedule(id: Int64) throws {
        try database.write { tables in
            guard tables.schedules[id] != nil else { throw SmrtJobsError.scheduleNotFound(id) }
            tables.deleteSchedule(id: id)
        }
    }

    /// Ordered by nextRun, then id.
    public func dueSchedules(now: Date, limit: Int) throws -> [AgentSchedule] {
        let now = Self.stored(now)
        return try database.read { tables in
            let due = tables.schedules.values.compactMap { schedule -> (nextRun: Date, schedule: AgentSchedule)? in
                guard schedule.enabled, schedule.status == .active, let nextRun = schedule.nextRun, nextRun <= now,
                    schedule.runningCount < schedule.maxConcurrent
                else { return nil }
                return (nextRun, schedule)
            }
            let sorted = due.sorted { ($0.nextRun, $0.schedule.id) < ($1.nextRun, $1.schedule.id) }.map(\.schedule)
            return limit < 0 ? sorted : Array(sorted.prefix(limit))
        }
    }

    /// A compare-and-swap on nextRun plus the record of the fired slot, in one transaction with the job's insert:
    /// whichever of several schedulers gets there first fires; the others get nil and change nothing.
    public func fire(scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date) throws -> Int64? {
        try job.validate()
        let now = Self.stored(now)
        let slot = Self.stored(slot)
        return try database.write { tables in
            guard var schedule = tables.schedules[scheduleId], schedule.nextRun == slot, schedule.enabled,
                schedule.status == .active
            else { return nil }
            // The slot was fired before (nextRun had been moved back onto it).
            if tables.fires[scheduleId]?[slot] != nil { return nil }
            schedule.nextRun = nextRun.map(Self.stored)
            schedule.runningCount += 1
            schedule.updatedAt = now
            tables.updateSchedule(schedule)
            let jobId = Self.insert(job, now: now, &tables).id
            tables.recordFire(scheduleId: scheduleId, slot: slot, at: now)
            return jobId
        }
    }

    /// Sets lastError (and updatedAt) only. Throws `scheduleNotFound`.
    public func recordFireError(scheduleId: Int64, error: String, now: Date) throws {
        let now = Self.stored(now)
        try database.write { tables in
            guard var schedule = tables.schedules[scheduleId] else { throw SmrtJobsError.scheduleNotFound(scheduleId) }
            schedule.lastError = error
            schedule.updatedAt = now
            tables.updateSchedule(schedule)
        }
    }

    /// On success lastError is cleared; on failure it becomes `message`. Throws `scheduleNotFound`.
    public func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date) throws {
        let now = Self.stored(now)
        try database.write { tables in
            guard Self.recordCompletion(scheduleId: scheduleId, success: success, message: message, now: now, &tables) else {
                throw SmrtJobsError.scheduleNotFound(scheduleId)
            }
        }
    }

    /// Counts the end of a job on the schedule that fired it, if any and if it still exists (a schedule deleted
    /// while its job ran has nothing to count).
    static func recordScheduleCompletion(
        of job: SmrtJob, success: Bool, message: String?, now: Date, _ tables: inout MemoryTables
    ) {
        guard let scheduleId = job.scheduleId else { return }
        _ = recordCompletion(scheduleId: scheduleId, success: success, message: message, now: now, &tables)
    }

    /// The counters of `handleJobCompletion`; false when the schedule does not exist.
    private static func recordCompletion(
        scheduleId: Int64, success: Bool, message: String?, now: Date, _ tables: inout MemoryTables
    ) -> Bool {
        guard var schedule = tables.schedules[scheduleId] else { return false }
        schedule.runningCount = max(schedule.runningCount - 1, 0)
        schedule.lastRun = now
        schedule.runCount += 1
        if success {
            schedule.successCount += 1
            schedule.lastStatus = .success
            schedule.lastError = nil
        } else {
            schedule.failureCount += 1
            schedule.lastStatus = .failed
            schedule.lastError = message
        }
        schedule.updatedAt = now
        tables.updateSchedule(schedule)
        return true
    }
}
