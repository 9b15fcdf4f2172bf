/// Errors of the core library. Each message names the field or value at fault.
public enum SmrtJobsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A user-supplied value is invalid (`--priority urgent`, `--delay 5x`, retries -3, ...).
    case invalidValue(field: String, value: String, reason: String)
    /// JSON text could not be parsed.
    case invalidJSON(what: String, reason: String)
    /// A cron expression could not be parsed; `field` is minute, hour, day-of-month, month or day-of-week.
    case invalidCron(expression: String, field: String?, reason: String)
    /// A time zone name that is not in the IANA database.
    case unknownTimeZone(String)
    case jobNotFound(Int64)
    case scheduleNotFound(Int64)
    /// A state change that the job's current status does not allow (e.g. cancel a completed job).
    case invalidTransition(jobId: Int64, from: JobStatus, action: String)
    /// A database error: its class (what a caller can do about it), chosen by the backend, and the backend's
    /// own message.
    case database(kind: DatabaseErrorKind, message: String)
    /// A result larger than the configured limit.
    case resultTooLarge(bytes: Int, limit: Int)
    /// `JobHandle.wait` ran out of time.
    case waitTimeout(jobId: Int64, milliseconds: Int)
    /// A `JobQueue` (or its `StoreExecutor`) was used after `close()`; `what` names it.
    case closed(what: String)

    public var description: String {
        switch self {
        case .invalidValue(let field, let value, let reason):
            return "invalid \(field) '\(value)': \(reason)"
        case .invalidJSON(let what, let reason):
            return "invalid JSON in \(what): \(reason)"
        case .invalidCron(let expression, let field, let reason):
            if let field { return "invalid cron expression '\(expression)': \(field) \(reason)" }
            return "invalid cron expression '\(expression)': \(reason)"
        case .unknownTimeZone(let name):
            return "unknown time zone '\(name)' (expected an IANA name such as Europe/Berlin)"
        case .jobNotFound(let id):
            return "job \(id) not found"
        case .scheduleNotFound(let id):
            return "schedule \(id) not found"
        case .invalidTransition(let id, let from, let action):
            return "cannot \(action) job \(id): it is \(from.rawValue)"
        case .database(let kind, let message):
            return "database error (\(kind.rawValue)): \(message)"
        case .resultTooLarge(let bytes, let limit):
            return "result too large: \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .waitTimeout(let id, let ms):
            return "Timeout waiting for job \(id) after \(ms) ms"
        case .closed(let what):
            return "\(what) is closed"
        }
    }
}
