import Foundation

/// State changes of a schedule, as the CLI's `schedule enable|disable|pause|resume` name them.
public enum ScheduleAction: String, Sendable, CaseIterable {
    case enable, disable, pause, resume
}

extension ScheduleRunner {
    /// Validates the cron expression and time zone, then creates the schedule with its first run computed
    /// from `now`. Throws (and writes nothing) on an invalid cron expression or unknown time zone.
    public static func createSchedule(
        _ spec: AgentScheduleSpec, in store: any ScheduleStore, now: Date = Date()
    ) throws -> AgentSchedule {
        let cron = try CronExpression(parsing: spec.cron)
        let zone = try CronExpression.timeZone(named: spec.timezone)
        // A schedule that can never fire would sit active without a next run.
        guard let nextRun = cron.nextDate(after: now, in: zone) else { throw CronExpression.neverFires(spec.cron, after: now) }
        try spec.validateJobSize()
        return try store.createSchedule(
            spec, nextRun: nextRun, status: spec.enabled ? .active : .disabled, lastError: nil, now: now)
    }

    /// Enables, disables, pauses or resumes a schedule. Enabling or resuming computes the next run forward
    /// from `now`, so slots missed while it was off are not replayed.
    @discardableResult
    public static func apply(
        _ action: ScheduleAction, toSchedule id: Int64, in store: any ScheduleStore, now: Date = Date()
    ) throws -> AgentSchedule {
        guard let schedule = try store.getSchedule(id: id) else { throw SmrtJobsError.scheduleNotFound(id) }
        switch action {
        case .disable:
            return try store.updateSchedule(id: id, enabled: false, status: .disabled, nextRun: nil, lastError: nil, now: now)
        case .pause:
            return try store.updateSchedule(id: id, enabled: nil, status: .paused, nextRun: nil, lastError: nil, now: now)
        case .enable, .resume:
            let cron = try CronExpression(parsing: schedule.cron)
            let next = cron.nextDate(after: now, in: try CronExpression.timeZone(named: schedule.timezone))
            return try store.updateSchedule(
                id: id, enabled: true, status: .active, nextRun: .some(next), lastError: .some(nil), now: now)
        }
    }
}
