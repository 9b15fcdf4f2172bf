import Foundation
import SmrtJobs

/// `JobStore` and `ScheduleStore` in memory: one connection to a `MemoryDatabase` that other stores of the same
/// `MemoryBackend` share.
///
/// It keeps the SQLite store's rules to the letter, so what passes on one passes on the other: every call is
/// one transaction (under the database's lock), every state change is conditional on the job's current state
/// and owner, dates are kept to whole milliseconds, ids are never reused, and a schedule's counters change in
/// the same transaction as the end of a job it fired. Completed and failed jobs keep `workerId`; a job going
/// back to pending has `workerId` and `workerHeartbeat` cleared.
///
/// ```swift
/// let store = MemoryJobStore()                  // a database of its own
/// let runner = TaskRunner(store: store, registry: registry)
/// ```
public final class MemoryJobStore: JobStore, ScheduleStore, Sendable {
    let database: MemoryConnection

    /// A store on a new, empty database of its own. For more connections to the same data use a `MemoryBackend`.
    public convenience init() {
        self.init(database: MemoryDatabase())
    }

    /// `readOnly`: every write throws, as on a read-only SQLite connection.
    init(database: MemoryDatabase, readOnly: Bool = false) {
        self.database = MemoryConnection(database: database, readOnly: readOnly)
    }

    /// A date as the store keeps it: whole milliseconds, as the SQLite store does.
    @inline(__always)
    static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) / 1000)
    }
}
