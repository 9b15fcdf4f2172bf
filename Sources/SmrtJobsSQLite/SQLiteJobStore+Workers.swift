import Foundation
import SmrtJobs

/// The lease rows of `_smrt_workers`.
extension SQLiteJobStore {
    /// Writes `stats` as `SupervisorSnapshot.storedJSON` (nil: NULL).
    public func registerWorker(_ record: WorkerRecord) throws {
        try locked { connection in
            try connection.run(
                """
                INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat, expires_at, stats) \
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, \
                started_at = excluded.started_at, heartbeat = excluded.heartbeat, expires_at = excluded.expires_at, \
                stats = excluded.stats
                """
            ) { s in
                try s.bind(record.id, 1)
                try s.bind(Int(record.pid), 2)
                try s.bind(record.host, 3)
                try s.bind(record.startedAt, 4)
                try s.bind(record.heartbeat, 5)
                try s.bind(record.expiresAt, 6)
                try s.bind(record.stats.flatMap(\.storedJSON), 7)
            }
        }
    }

    /// Renews the lease; a worker without a row (already removed as dead) stays removed.
    public func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws {
        try locked { connection in
            try connection.run("UPDATE _smrt_workers SET heartbeat = ?1, expires_at = ?2 WHERE id = ?3") { s in
                try s.bind(now, 1)
                try s.bind(expiresAt, 2)
                try s.bind(id, 3)
            }
        }
    }

    public func removeWorker(id: String) throws {
        try locked { connection in
            try connection.run("DELETE FROM _smrt_workers WHERE id = ?1") { s in try s.bind(id, 1) }
        }
    }

    /// By id. A `stats` text that does not read as a snapshot this library knows is nil (never an error: one bad
    /// row must not hide the others).
    public func listWorkers() throws -> [WorkerRecord] {
        try locked { connection in
            try connection.withStatement(
                "SELECT id, pid, host, started_at, heartbeat, expires_at, stats FROM _smrt_workers ORDER BY id"
            ) { s in
                var workers: [WorkerRecord] = []
                while try s.step() {
                    workers.append(
                        WorkerRecord(
                            id: s.string(0) ?? "", pid: Int32(truncatingIfNeeded: s.int64(1)), host: s.string(2) ?? "",
                            startedAt: s.date(3) ?? Date(timeIntervalSince1970: 0),
                            heartbeat: s.date(4) ?? Date(timeIntervalSince1970: 0), expiresAt: s.date(5),
                            stats: s.string(6).flatMap(SupervisorSnapshot.init(storedJSON:))))
                }
                return workers
            }
        }
    }
}
