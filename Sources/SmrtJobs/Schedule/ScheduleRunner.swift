import Foundation
import Logging

/// Turns due cron schedules (`_smrt_agent_schedules`) into jobs on queue `agents` at priority 75.
///
/// The work is synchronous (`runDue`, `handleJobCompletion`) so the supervisor can call it from its
/// database thread, and a `TaskRunner` with `Options.scheduleRunner` drives it too. For in-process use
/// without a `TaskRunner`, `start()` polls on a thread of its own until `stop()`.
/// Firing is idempotent: `ScheduleStore.fire` is a compare-and-swap on the slot, so two runners on one
/// database never fire the same slot twice. Missed slots are not replayed: the next run is computed
/// forward from now. Every fire, failure and recorded completion is reported as a `ScheduleRunnerEvent`.
public final class ScheduleRunner: Sendable {
    public static let queue = "agents"
    public static let priority = Priority.high.rawValue
    public static let maxAttempts = 3
    /// What `handleJobCompletion` records as the error of a failed job that came without a message.
    public static let unknownError = "Unknown error"

    let store: any JobStore & ScheduleStore
    let logger: Logger
    let hub: EventHub<ScheduleRunnerEvent>
    let lifecycle = Locked(Lifecycle())
    /// Wakes the poll loop of `start()` (for `stop()`).
    let waker = Waker()

    /// - Parameter eventBufferSize: how many undelivered events each `events` stream keeps.
    public init(
        store: any JobStore & ScheduleStore, logger: Logger = Logger(label: "smrt.schedules"), eventBufferSize: Int = 1024
    ) {
        self.store = store
        self.logger = logger
        hub = EventHub(bufferSize: eventBufferSize)
    }

    /// Fires every due schedule once. Returns what happened to each.
    @discardableResult
    public func runDue(now: Date = Date(), limit: Int = 50) throws -> [ScheduleFire] {
        try store.dueSchedules(now: now, limit: limit).map { try fire($0, now: now) }
    }

    private func fire(_ schedule: AgentSchedule, now: Date) throws -> ScheduleFire {
        let next: Date?
        do {
            let cron = try CronExpression(parsing: schedule.cron)
            next = cron.nextDate(after: now, in: try CronExpression.timeZone(named: schedule.timezone))
        } catch {
            let message = ArgumentRedaction.redact(text: Self.invalidCronMessage(schedule, error))
            _ = try store.updateSchedule(
                id: schedule.id, enabled: nil, status: .error, nextRun: nil, lastError: .some(message), now: now)
            logger.error("schedule \(schedule.id) set to error: \(message)")
            let fire = ScheduleFire(scheduleId: schedule.id, slot: schedule.nextRun, jobId: nil, error: message)
            hub.emit(.scheduleFailed(fire))
            return fire
        }
        guard let slot = schedule.nextRun else {
            return ScheduleFire(scheduleId: schedule.id, slot: nil, jobId: nil)
        }
        do {
            let jobId = try store.fire(
                scheduleId: schedule.id, slot: slot, nextRun: next, job: Self.jobSpec(for: schedule), now: now)
            let fire = ScheduleFire(scheduleId: schedule.id, slot: slot, jobId: jobId)
            if let jobId {
                logger.info("schedule \(schedule.id) fired job \(jobId) (\(schedule.agentType).\(schedule.method))")
                hub.emit(.scheduleFired(fire))
            }
            return fire
        } catch {
            let message = ArgumentRedaction.redact(text: "\(error)")
            try store.recordFireError(scheduleId: schedule.id, error: message, now: now)
            logger.error("schedule \(schedule.id) could not enqueue: \(message)")
            let fire = ScheduleFire(scheduleId: schedule.id, slot: slot, jobId: nil, error: message)
            hub.emit(.scheduleFailed(fire))
            return fire
        }
    }

    /// Updates a schedule's counters for a run that ended outside the stores' own bookkeeping (the stores
    /// already count every fired job they finish, cancel or recover for good, in the same transaction: call this
    /// only for runs they cannot see). A failure without a message is recorded as `unknownError`; secrets in
    /// the message are redacted before it is stored.
    public func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date = Date()) throws {
        let message = success ? message : ArgumentRedaction.redact(text: message ?? Self.unknownError)
        try store.handleJobCompletion(scheduleId: scheduleId, success: success, message: message, now: now)
        hub.emit(.jobCompletionRecorded(scheduleId: scheduleId, success: success, message: message))
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
