/// What a caller can do about a database error. Each backend sorts its own error codes into these classes
/// (`SmrtJobsError.database(kind:message:)`), so the supervisor and the runners decide without knowing the
/// backend's vocabulary.
public enum DatabaseErrorKind: String, Sendable, Equatable, CaseIterable {
    /// Another writer holds the lock, or the server asks to try again: retry later; nothing is wrong.
    case busy
    /// The database cannot be reached now (connection refused or lost, server restarting): retry later.
    case unavailable
    /// Retrying cannot help: disk full, I/O error, read-only, corrupt, not a database. A supervisor stops.
    case fatal
    /// The request itself is at fault (a constraint, a value out of range or too large).
    case badInput
    /// Anything else: report it; the next call may work.
    case other

    /// Busy and unavailable errors pass with time.
    public var isTransient: Bool { self == .busy || self == .unavailable }
}
