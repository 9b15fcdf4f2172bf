import Foundation
import SmrtJobs

/// The lease rows of workers.
extension MemoryJobStore {
    /// Registers (or replaces) a lease row.
    public func registerWorker(_ record: WorkerRecord) throws {
        var record = record
        record.startedAt = Self.stored(record.startedAt)
        record.heartbeat = Self.stored(record.heartbeat)
        record.expiresAt = record.expiresAt.map(Self.stored)
        // Through the stored form, as the SQL stores keep it: dates to the millisecond, and a snapshot of a newer
        // version than this library knows reads as none.
        record.stats = record.stats.flatMap(\.storedJSON).flatMap(SupervisorSnapshot.init(storedJSON:))
        try database.write { tables in tables.setWorker(record) }
    }

    /// Touches the lease; a worker without a row (already removed as dead) stays removed.
    public func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws {
        let now = Self.stored(now)
        let expiresAt = Self.stored(expiresAt)
        try database.write { tables in
            guard var record = tables.workers[id] else { return }
            record.heartbeat = now
            record.expiresAt = expiresAt
            tables.setWorker(record)
        }
    }

    public func removeWorker(id: String) throws {
        try database.write { tables in tables.removeWorker(id: id) }
    }

    /// By id.
    public func listWorkers() throws -> [WorkerRecord] {
        try database.read { tables in tables.workers.values.sorted { $0.id < $1.id } }
    }
}
