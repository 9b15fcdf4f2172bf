import SmrtJobs

/// A queue in the memory of this process: for unit tests of apps, and anywhere the jobs need not outlive it.
///
/// Every `openStore()` is another connection to the same data (as two SQLite connections to one file are), so
/// a supervisor's database thread, a `TaskRunner` and the app can each have their own. The change signal fires
/// after every commit that changed something, from any of them. There is nothing to go wrong with the
/// storage: `checkHealth()` is always nil. Nothing is shared with other processes: enqueue in the process that
/// holds the backend (workers of a supervisor never touch the database, so they work as usual).
///
/// Like a path with no file yet, a new backend holds no database until a store is opened with
/// `StoreAccess.Mode.create` (what `openStore()` does): before that, read-only and read-write opens throw
/// `SmrtJobsError.noSuchDatabase`. A memory database never holds other applications' tables.
public final class MemoryBackend: JobBackend {
    /// Names the database in log lines.
    public let name: String
    private let database = MemoryDatabase()
    /// Whether a store created the database (see the type's documentation).
    private let created = Locked(false)

    public init(name: String = "memory") {
        self.name = name
    }

    public var displayName: String { "memory:\(name)" }

    public func openStore(_ access: StoreAccess) throws -> any JobStore & ScheduleStore {
        try openMemoryStore(access)
    }

    /// `openStore()` with the concrete type: creates the database if no store did yet.
    public func openMemoryStore() -> MemoryJobStore {
        created.withLock { $0 = true }
        return MemoryJobStore(database: database)
    }

    /// `openStore(_:)` with the concrete type.
    public func openMemoryStore(_ access: StoreAccess) throws -> MemoryJobStore {
        let exists = created.withLock { created in
            if access.mode == .create { created = true }
            return created
        }
        guard exists else { throw SmrtJobsError.noSuchDatabase(name: displayName) }
        return MemoryJobStore(database: database, readOnly: !access.writes)
    }

    public func makeChangeSignal() throws -> any ChangeSignal {
        MemoryChangeSignal(database: database)
    }

    public func checkHealth() -> String? { nil }
}
