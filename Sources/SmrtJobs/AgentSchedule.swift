import Foundation

/// A cron schedule that enqueues jobs: one row of `_smrt_agent_schedules`.
public struct AgentSchedule: Sendable, Equatable, Codable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, paused, disabled, error
    }

    public enum LastStatus: String, Codable, Sendable {
        case success, failed
    }

    public var id: Int64
    public var tenantId: String?
    /// The registered type the fired job targets (the job's objectType).
    public var agentType: String
    /// nil for a static job.
    public var agentId: String?
    /// Passed to the job as `_agentConfig`.
    public var agentConfig: [String: JSONValue]?
    public var cron: String
    /// IANA name; default "UTC".
    public var timezone: String
    public var enabled: Bool
    public var status: Status
    public var lastRun: Date?
    public var nextRun: Date?
    public var lastStatus: LastStatus?
    public var lastError: String?
    public var runCount: Int
    public var successCount: Int
    public var failureCount: Int
    public var maxConcurrent: Int
    public var runningCount: Int
    /// Milliseconds; the fired job's timeout.
    public var timeout: Int
    public var method: String
    public var methodArgs: [String: JSONValue]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, tenantId: String? = nil, agentType: String, agentId: String? = nil,
        agentConfig: [String: JSONValue]? = nil, cron: String, timezone: String = "UTC", enabled: Bool = true,
        status: Status = .active, lastRun: Date? = nil, nextRun: Date? = nil, lastStatus: LastStatus? = nil,
        lastError: String? = nil, runCount: Int = 0, successCount: Int = 0, failureCount: Int = 0,
        maxConcurrent: Int = 1, runningCount: Int = 0, timeout: Int = 3_600_000, method: String = "run",
        methodArgs: [String: JSONValue] = [:], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.tenantId = tenantId
        self.agentType = agentType
        self.agentId = agentId
        self.agentConfig = agentConfig
        self.cron = cron
        self.timezone = timezone
        self.enabled = enabled
        self.status = status
        self.lastRun = lastRun
        self.nextRun = nextRun
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.runCount = runCount
        self.successCount = successCount
        self.failureCount = failureCount
        self.maxConcurrent = maxConcurrent
        self.runningCount = runningCount
        self.timeout = timeout
        self.method = method
        self.methodArgs = methodArgs
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What is needed to create a schedule.
public struct AgentScheduleSpec: Sendable, Equatable {
    public var tenantId: String?
    public var agentType: String
    public var agentId: String?
    public var agentConfig: [String: JSONValue]?
    public var cron: String
    public var timezone: String
    public var maxConcurrent: Int
    public var timeout: Int
    public var method: String
    public var methodArgs: [String: JSONValue]
    public var enabled: Bool

    public init(
        agentType: String, cron: String, method: String = "run", agentId: String? = nil,
        methodArgs: [String: JSONValue] = [:], agentConfig: [String: JSONValue]? = nil, timezone: String = "UTC",
        maxConcurrent: Int = 1, timeout: Int = 3_600_000, enabled: Bool = true, tenantId: String? = nil
    ) {
        self.tenantId = tenantId
        self.agentType = agentType
        self.agentId = agentId
        self.agentConfig = agentConfig
        self.cron = cron
        self.timezone = timezone
        self.maxConcurrent = maxConcurrent
        self.timeout = timeout
        self.method = method
        self.methodArgs = methodArgs
        self.enabled = enabled
    }
}

/// Persistence for cron schedules. Implemented by the same stores as `JobStore`.
public protocol ScheduleStore: AnyObject, Sendable {
    /// Inserts a schedule with its first `nextRun` already computed by the caller.
    func createSchedule(_ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?, now: Date) throws
        -> AgentSchedule
    func getSchedule(id: Int64) throws -> AgentSchedule?
    func listSchedules() throws -> [AgentSchedule]
    /// Sets enabled and/or status (nil leaves a field as it is). Throws `scheduleNotFound`.
    func updateSchedule(id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??, now: Date)
        throws -> AgentSchedule
    /// Throws `scheduleNotFound`.
    func deleteSchedule(id: Int64) throws
    /// enabled AND status='active' AND next_run <= now AND running_count < max_concurrent, by next_run.
    func dueSchedules(now: Date, limit: Int) throws -> [AgentSchedule]
    /// In one transaction: if the schedule's next_run is still `slot` (and the slot was never fired), inserts
    /// `job`, sets next_run = `nextRun`, running_count + 1, and records the fire under a unique
    /// (schedule, slot) key. Returns the job id, or nil when another runner fired this slot already.
    func fire(scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date) throws -> Int64?
    /// Records why a fire failed; next_run stays as it is.
    func recordFireError(scheduleId: Int64, error: String, now: Date) throws
    /// running_count - 1 (not below 0), last_run, run_count + 1, success or failure counters,
    /// last_status and last_error. Stores do this themselves, in the same transaction, when a job the schedule
    /// fired ends for good (`JobStore.finish`, `cancel`, recovery); call it only for runs that end elsewhere.
    /// Throws `scheduleNotFound`.
    func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date) throws
}
