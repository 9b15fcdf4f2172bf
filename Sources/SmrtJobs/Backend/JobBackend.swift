/// A database that holds the queue, and everything the supervisor, the runners, the CLI and apps need of it
/// besides SQL: connections (stores), a change signal and a health check. Errors come as
/// `SmrtJobsError.database(kind:message:)`, sorted into `DatabaseErrorKind` by the backend.
///
/// Open one from a `--db` string with `Backends.open(_:)` (module SmrtBackends): a file path is SQLite.
/// A backend value is cheap and holds no connection; what it opens belongs to the caller.
public protocol JobBackend: Sendable {
    /// The database for log lines and error messages, with any password replaced.
    var displayName: String { get }

    /// A new connection to the database, as far as `access` allows: a read-only store on an existing queue
    /// (nothing created, migrated or changed), or a writing one with the schema created or migrated first. The
    /// caller owns it; each thread that talks to the database should have its own. Blocking: never call it on
    /// an event loop or the cooperative thread pool (see `StoreExecutor`).
    ///
    /// - Throws: `SmrtJobsError.noSuchDatabase` (missing, and `access` does not create),
    ///   `SmrtJobsError.notAQueueDatabase` (another application's database, or an empty one opened read-only),
    ///   `SmrtJobsError.database` for anything else.
    func openStore(_ access: StoreAccess) throws -> any JobStore & ScheduleStore

    /// A new watcher telling when something may have changed (a job became claimable, a job finished).
    func makeChangeSignal() throws -> any ChangeSignal

    /// Why the database can no longer be trusted (e.g. its file was removed or replaced), or nil while it is
    /// healthy. Cheap, may block briefly; called about once a second, never from an event loop.
    func checkHealth() -> String?
}

extension JobBackend {
    /// A new connection that creates the database when missing and adds the queue's tables to any database
    /// (`StoreAccess.createAnywhere`): what apps, runners and embedded supervisors that own their database want.
    public func openStore() throws -> any JobStore & ScheduleStore {
        try openStore(.createAnywhere)
    }
}
