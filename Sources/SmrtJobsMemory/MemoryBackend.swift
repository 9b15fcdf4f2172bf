import SmrtJobs

/// A queue in the memory of this process: for unit tests of apps, and anywhere the jobs need not outlive it.
///
/// Every `openStore()` is another connection to the same data (as two SQLite connections to one file are), so
/// a supervisor's database thread, a `TaskRunner` and the app can each have their own. The change signal fires
/// after every commit that changed something, from any of them. There is nothing to go wrong with the
/// storage: `checkHealth()` is always nil. Nothing is shared with other processes: enqueue in the process that
/// holds the backend (workers of a supervisor never touch the database, so they work as usual).
public final class MemoryBackend: JobBackend {
    /// Names the database in log lines.
    public let name: String
    private let database = MemoryDatabase()

    public init(name: String = "memory") {
        self.name = name
    }

    public var displayName: String { "memory:\(name)" }

    public func openStore() throws -> any JobStore & ScheduleStore {
        openMemoryStore()
    }

    /// `openStore()` with the concrete type.
    public func openMemoryStore() -> MemoryJobStore {
        MemoryJobStore(database: database)
    }

    public func makeChangeSignal() throws -> any ChangeSignal {
        MemoryChangeSignal(database: database)
    }

    public func checkHealth() -> String? { nil }
}
