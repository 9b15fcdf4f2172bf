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
    /// `retry` of a job whose unique key another pending or running job (`heldBy`) holds now.
    case uniqueKeyHeld(jobId: Int64, key: String, heldBy: Int64)
    /// A database error: its class (what a caller can do about it), chosen by the backend, and the backend's
    /// own message.
    case database(kind: DatabaseErrorKind, message: String)
    /// The database a store was asked to open does not exist, and the access did not allow creating it
    /// (`StoreAccess`); `name` is the backend's display name (a path for SQLite).
    case noSuchDatabase(name: String)
    /// The database exists but holds none of the queue's tables: another application's database
    /// (`hasOtherTables`), or an empty one opened read-only. `mayAddTables` tells whether the access could have
    /// added them when allowed (`--init`); a read-only open never can.
    case notAQueueDatabase(name: String, hasOtherTables: Bool, mayAddTables: Bool)
    /// A job's args, as JSON, larger than a worker can receive: `limit` is what the worker protocol's 4 MiB
    /// frame leaves for them besides the job's type, method and object id (`JobSpec.maxArgsBytes`).
    case argsTooLarge(bytes: Int, limit: Int)
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
        case .uniqueKeyHeld(let id, let key, let holder):
            return "cannot retry job \(id): its unique key '\(key)' is held by job \(holder), which is pending or running"
        case .database(let kind, let message):
            return "database error (\(kind.rawValue)): \(message)"
        case .noSuchDatabase(let name):
            return "no such database: \(name)"
        case .notAQueueDatabase(let name, let hasOtherTables, let mayAddTables):
            if !hasOtherTables {
                return "\(name) is not a smrt-jobs database yet (it has no tables); a command that writes, such as enqueue, creates them"
            }
            if mayAddTables {
                return "\(name) is not a smrt-jobs database (it has other tables); pass --init to add the smrt-jobs tables"
            }
            return "\(name) is not a smrt-jobs database (it has other tables)"
        case .argsTooLarge(let bytes, let limit):
            return "args too large: \(bytes) bytes of JSON exceed the limit of \(limit) bytes "
                + "(a job must fit the worker protocol's \(JobSpec.maxRunMessageBytes)-byte frame)"
        case .resultTooLarge(let bytes, let limit):
            return "result too large: \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .waitTimeout(let id, let ms):
            return "Timeout waiting for job \(id) after \(ms) ms"
        case .closed(let what):
            return "\(what) is closed"
        }
    }
}
