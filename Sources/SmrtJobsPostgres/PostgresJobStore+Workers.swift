import Foundation
import SmrtJobs

/// The lease rows of `_smrt_workers`.
extension PostgresJobStore {
    /// Writes `stats` as `SupervisorSnapshot.storedJSON` (nil: NULL).
    public func registerWorker(_ record: WorkerRecord) throws {
        try locked { connection in
            try connection.query(
                """
                INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat, expires_at, stats) \
                VALUES ($1::text, $2::integer, $3::text, $4::timestamptz, $5::timestamptz, $6::timestamptz, $7::jsonb) \
                ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, \
                started_at = excluded.started_at, heartbeat = excluded.heartbeat, expires_at = excluded.expires_at, \
                stats = excluded.stats
                """,
                [record.id, String(record.pid), record.host, Self.text(record.startedAt), Self.text(record.heartbeat),
                 Self.text(record.expiresAt), record.stats.flatMap(\.storedJSON)])
        }
    }

    /// Renews the lease with the expiry its owner computed; a worker without a row (already removed as dead)
    /// stays removed.
    public func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws {
        try locked { connection in
            try connection.query(
                "UPDATE _smrt_workers SET heartbeat = $1::timestamptz, expires_at = $2::timestamptz WHERE id = $3::text",
                [Self.text(now), Self.text(expiresAt), id])
        }
    }

    public func removeWorker(id: String) throws {
        try locked { connection in
            _ = try connection.query("DELETE FROM _smrt_workers WHERE id = $1::text", [id])
        }
    }

    /// By id. A `stats` value that does not read as a snapshot this library knows is nil (never an error: one bad
    /// row must not hide the others).
    public func listWorkers() throws -> [WorkerRecord] {
        try locked { connection in
            try connection.query(
                "SELECT id, pid, host, started_at, heartbeat, expires_at, stats::text FROM _smrt_workers ORDER BY id COLLATE \"C\"")
                .rows.map { row in
                    WorkerRecord(
                        id: row.string(0) ?? "", pid: Int32(truncatingIfNeeded: row.int64(1)), host: row.string(2) ?? "",
                        startedAt: row.date(3) ?? Date(timeIntervalSince1970: 0),
                        heartbeat: row.date(4) ?? Date(timeIntervalSince1970: 0), expiresAt: row.date(5),
                        stats: row.string(6).flatMap(SupervisorSnapshot.init(storedJSON:)))
                }
        }
    }
}
