import Foundation
import Logging

/// Turns due cron schedules (`_smrt_agent_schedules`) into jobs on queue `agents` at priority 75.
///
/// The work is synchronous (`runDue`, `handleJobCompletion`) so the supervisor can call it from its
/// database thread; `run(pollInterval:)` drives it from Swift concurrency for in-process use.
/// Firing is idempotent: `ScheduleStore.fire` is a compare-and-swap on the slot, so two runners on one
/// database never fire the same slot twice. Missed slots are not replayed: the next run is computed
/// forward from now.
public final class ScheduleRunner: @unchecked Sendable {
    public static let queue = "agents"
    public static let priority = Priority.high.rawValue
    public static let maxAttempts = 3

    private let store: any JobStore & ScheduleStore
    private let logger: Logger

    public init(store: any JobStore & ScheduleStore, logger: Logger = Logger(label: "smrt.schedules")) {
        self.store = store
        self.logger = logger
    }

    /// Fires every due schedule once. Returns what happened to each.
    @discardableResult
    public func runDue(now: Date, limit: Int = 50) throws -> [ScheduleFire] {
        try store.dueSchedules(now: now, limit: limit).map { try fire($0, now: now) }
    }

    private func fire(_ schedule: AgentSchedule, now: Date) throws -> ScheduleFire {
        let next: Date?
        do {
            let cron = try CronExpression(parsing: schedule.cron)
            next = cron.nextDate(after: now, in: try CronExpression.timeZone(named: schedule.timezone))
        } catch {
            let message = Self.invalidCronMessage(schedule, error)
            _ = try store.updateSchedule(
                id: schedule.id, enabled: nil, status: .error, nextRun: nil, lastError: .some(message), now: now)
            logger.error("schedule \(schedule.id) set to error: \(message)")
            return ScheduleFire(scheduleId: schedule.id, slot: schedule.nextRun, jobId: nil, error: message)
        }
        guard let slot = schedule.nextRun else {
            return ScheduleFire(scheduleId: schedule.id, slot: nil, jobId: nil)
        }
        do {
            let jobId = try store.fire(
                scheduleId: schedule.id, slot: slot, nextRun: next, job: Self.jobSpec(for: schedule), now: now)
            if let jobId {
                logger.info("schedule \(schedule.id) fired job \(jobId) (\(schedule.agentType).\(schedule.method))")
            }
            return ScheduleFire(scheduleId: schedule.id, slot: slot, jobId: jobId)
        } catch {
            let message = "\(error)"
            try store.recordFireError(scheduleId: schedule.id, error: message, now: now)
            logger.error("schedule \(schedule.id) could not enqueue: \(message)")
            return ScheduleFire(scheduleId: schedule.id, slot: slot, jobId: nil, error: message)
        }
    }

    /// Updates a schedule's counters when a job it fired has finished.
    public func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date) throws {
        try store.handleJobCompletion(scheduleId: scheduleId, success: success, message: message, now: now)
    }

    /// Runs `runDue` every `pollInterval` until the task is cancelled.
    public func run(pollInterval: Duration = .seconds(30), clock: @Sendable () -> Date = { Date() }) async {
        while !Task.isCancelled {
            do {
                try runDue(now: clock())
            } catch {
                logger.error("schedule poll failed: \(error)")
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// The job a schedule enqueues: its method and args plus `_scheduleId` (and `_agentConfig`).
    public static func jobSpec(for schedule: AgentSchedule) -> JobSpec {
        var args = schedule.methodArgs
        args[ReservedArgs.scheduleId] = .int(schedule.id)
        if let config = schedule.agentConfig { args[ReservedArgs.agentConfig] = .object(config) }
        return JobSpec(
            objectType: schedule.agentType, method: schedule.method, objectId: schedule.agentId, args: args,
            queue: queue, priority: priority, maxAttempts: maxAttempts, timeout: schedule.timeout,
            tenantId: schedule.tenantId)
    }

    static func invalidCronMessage(_ schedule: AgentSchedule, _ error: Error) -> String {
        if case SmrtJobsError.unknownTimeZone = error { return "\(error)" }
        return "Invalid cron expression: \(schedule.cron) (\(error))"
    }
}
