import Foundation

/// Something a `ScheduleRunner` did, delivered to `ScheduleRunner.on(_:)` handlers and
/// `ScheduleRunner.events` streams, whoever drives it (`start()`, a `TaskRunner`, the supervisor).
public enum ScheduleRunnerEvent: Sendable {
    /// `start()` began polling for due schedules (`scheduler:started`).
    case runnerStarted
    /// `stop()` finished: no poll runs any more (`scheduler:stopped`).
    case runnerStopped
    /// A poll for due schedules failed; the runner carries on (`scheduler:error`).
    case runnerError(message: String)
    /// A due schedule enqueued its job (`schedule:fired`).
    case scheduleFired(ScheduleFire)
    /// A due schedule could not enqueue its job, or was set to `error` for an invalid cron expression or
    /// time zone; `fire.error` says why (`schedule:error`).
    case scheduleFailed(ScheduleFire)
    /// The end of a job a schedule fired was recorded on the schedule (`schedule:completed`).
    case jobCompletionRecorded(scheduleId: Int64, success: Bool, message: String?)
}
