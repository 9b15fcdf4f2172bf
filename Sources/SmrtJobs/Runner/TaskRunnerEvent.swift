import Foundation

/// Something a `TaskRunner` did, delivered to `TaskRunner.on(_:)` handlers and `TaskRunner.events` streams.
///
/// Job events carry the job as the runner claimed it, with `status`, `lastError` and `result` updated to
/// what the event reports.
public enum TaskRunnerEvent: Sendable {
    /// The runner registered its lease and began claiming (`runner:started`).
    case runnerStarted(workerId: String)
    /// The runner stopped: nothing in flight any more, its lease row removed (`runner:stopped`).
    case runnerStopped(workerId: String)
    /// Something went wrong outside any one job: a claim, heartbeat, recovery or schedule poll failed, or a
    /// result could not be written (`runner:error`). The runner carries on.
    case runnerError(message: String)
    /// An attempt began (`job:started`).
    case jobStarted(SmrtJob)
    /// The attempt succeeded and its result was stored (`job:completed`).
    case jobCompleted(SmrtJob, result: JSONValue?)
    /// The job failed for good: attempts used up, a non-retrying strategy, or an error no retry can fix
    /// (`job:failed`).
    case jobFailed(SmrtJob, error: String)
    /// The attempt failed and the job will run again after `delayMs` (`job:retrying`).
    case jobRetrying(SmrtJob, error: String, delayMs: Int)
    /// The attempt ran past the job's timeout. With `.warn` the job runs on; with `.fail` its task was
    /// cancelled and the attempt failed ("timed out after N ms", retried under the strategy); `.kill` needs
    /// `smrt-supervisor` to end a process, so in-process it is handled as `.fail`. `message` says which.
    case jobTimeout(SmrtJob, behavior: TimeoutBehavior, timeoutMs: Int, message: String)
    /// A job whose owner's lease expired was taken back by this runner: `result` says whether it will be
    /// retried or failed for good.
    case jobRecovered(SmrtJob, result: FinishResult)
    /// `stop()` ran out of `shutdownTimeout`: the attempt was cancelled and the job put back to pending
    /// without counting it.
    case jobReleased(SmrtJob)
}
