import SmrtJobs

/// One store's way into a `MemoryDatabase`: reads as they are; writes refused when the store was opened
/// read-only, as SQLite refuses them on a `SQLITE_OPEN_READONLY` connection (same class and message).
struct MemoryConnection: Sendable {
    let database: MemoryDatabase
    let readOnly: Bool

    func read<T>(_ body: (MemoryTables) throws -> T) throws -> T {
        try database.read(body)
    }

    func write<T>(_ body: (inout MemoryTables) throws -> T) throws -> T {
        if readOnly { throw SmrtJobsError.database(kind: .fatal, message: "attempt to write a readonly database") }
        return try database.write(body)
    }
}
