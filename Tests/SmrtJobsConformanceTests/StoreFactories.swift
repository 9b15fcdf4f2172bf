import SmrtJobsConformance
import SmrtJobsMemory
import SmrtJobsSQLite

/// The stores of this package, as the conformance suite opens them.
enum StoreFactories {
    static let all: [StoreFactory] = [sqlite, memory]

    /// A file in the check's directory.
    static let sqlite = StoreFactory(name: "SQLite") { directory in SQLiteBackend(path: directory.path("jobs.sqlite")) }

    /// A fresh in-memory database per check.
    static let memory = StoreFactory(name: "memory") { _ in MemoryBackend() }
}
