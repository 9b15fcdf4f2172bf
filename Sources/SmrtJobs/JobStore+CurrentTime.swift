import Foundation

/// Every store call that takes `now:` without it: the time is then the current one. Tests and runners with
/// a clock of their own pass `now:`.
extension JobStore {
    public func enqueue(_ spec: JobSpec) throws -> SmrtJob { try enqueue(spec, now: Date()) }

    public func enqueue(batch: [JobSpec]) throws -> [Int64] { try enqueue(batch: batch, now: Date()) }

    public func claim(workerId: String, limit: Int, queues: [String]?) throws -> [SmrtJob] {
        try claim(workerId: workerId, limit: limit, queues: queues, now: Date())
    }

    public func finish(_ reports: [AttemptReport], workerId: String) throws -> [FinishResult] {
        try finish(reports, workerId: workerId, now: Date())
    }

    public func finish(
        _ reports: [AttemptReport], workerId: String, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        try finish(reports, workerId: workerId, now: Date(), thenClaim: limit, queues: queues)
    }

    @discardableResult
    public func release(jobIds: [Int64], workerId: String) throws -> Int {
        try release(jobIds: jobIds, workerId: workerId, now: Date())
    }

    public func cancel(id: Int64) throws -> SmrtJob { try cancel(id: id, now: Date()) }

    public func retry(id: Int64) throws -> SmrtJob { try retry(id: id, now: Date()) }

    public func heartbeat(workerId: String) throws { try heartbeat(workerId: workerId, now: Date()) }

    public func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        try recoverJobs(ofDeadOwner: ownerId, leaseAsJudged: lease, reason: reason, now: Date(), nextRunAt: nextRunAt)
    }

    public func recoverJobs(
        heartbeatBefore: Date, reason: String, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        try recoverJobs(heartbeatBefore: heartbeatBefore, reason: reason, now: Date(), nextRunAt: nextRunAt)
    }

    public func cleanup(_ options: CleanupOptions) throws -> Int { try cleanup(options, now: Date()) }

    public func heartbeatWorker(id: String, ttl: Duration) throws {
        let now = Date()
        try heartbeatWorker(id: id, now: now, expiresAt: now.addingTimeInterval(ttl.timeInterval))
    }

    public func listReady(limit: Int, queues: [String]? = nil) throws -> [SmrtJob] {
        try listReady(limit: limit, queues: queues, now: Date())
    }
}

extension ScheduleStore {
    public func createSchedule(
        _ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?
    ) throws -> AgentSchedule {
        try createSchedule(spec, nextRun: nextRun, status: status, lastError: lastError, now: Date())
    }

    public func updateSchedule(
        id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??
    ) throws -> AgentSchedule {
        try updateSchedule(id: id, enabled: enabled, status: status, nextRun: nextRun, lastError: lastError, now: Date())
    }

    public func dueSchedules(limit: Int) throws -> [AgentSchedule] { try dueSchedules(now: Date(), limit: limit) }

    public func fire(scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec) throws -> Int64? {
        try fire(scheduleId: scheduleId, slot: slot, nextRun: nextRun, job: job, now: Date())
    }

    public func recordFireError(scheduleId: Int64, error: String) throws {
        try recordFireError(scheduleId: scheduleId, error: error, now: Date())
    }

    public func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?) throws {
        try handleJobCompletion(scheduleId: scheduleId, success: success, message: message, now: Date())
    }
}
