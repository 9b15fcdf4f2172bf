import Foundation
import SmrtJobs

/// A queue in one schema of a PostgreSQL database (13 or newer), shared by any number of processes and hosts.
///
/// The URL is libpq's (`postgresql://user@host:5432/db?options=-csearch_path%3Dqueue`): the queue lives in the
/// first schema of the connection's search path. A password may come from the URL, `PGPASSWORD` or
/// `~/.pgpass` (libpq reads them itself); `displayName` and every message hide it.
///
/// Change signal: `PostgresChangeSignal` (LISTEN on a connection of its own). Health: once a store has opened the
/// queue, the database and the queue's tables must go on existing; a server that cannot be reached is not a
/// health failure (it passes; stores report it as `unavailable`).
public final class PostgresBackend: JobBackend {
    public let settings: PostgresSettings
    /// Whether a store has opened the queue (health is judged only from then on).
    private let opened = Locked(false)
    /// The health check's own connection, and when it may connect again.
    private let health = Locked<HealthState>(HealthState())

    struct HealthState {
        var connection: PostgresConnection?
        var nextConnect: UInt64 = 0
    }

    /// Checks `url` with libpq's parser; connects nothing.
    ///
    /// - Parameter lockTimeoutMs: how long a statement waits for a lock another session holds before failing
    ///   as `busy` (`lock_timeout`).
    /// - Throws: `SmrtJobsError.invalidValue` for a URL libpq cannot parse.
    public init(url: String, lockTimeoutMs: Int32 = 5000) throws {
        settings = try PostgresSettings(url: url, lockTimeoutMs: lockTimeoutMs)
    }

    public var displayName: String { settings.displayName }

    /// A new connection (see `StoreAccess` and `PostgresSchema`).
    public func openStore(_ access: StoreAccess) throws -> any JobStore & ScheduleStore {
        try openPostgresStore(access)
    }

    /// `openStore(_:)` with the concrete type, for PostgreSQL-only tools and tests.
    public func openPostgresStore(_ access: StoreAccess = .createAnywhere) throws -> PostgresJobStore {
        let store = try PostgresJobStore(settings: settings, access: access)
        opened.withLock { $0 = true }
        return store
    }

    public func makeChangeSignal() throws -> any ChangeSignal {
        PostgresChangeSignal(settings: settings)
    }

    /// Reports a dropped database or dropped queue tables; nil while healthy or while the server cannot be
    /// reached (transient). Reuses one connection; reconnects at most every 5 s.
    public func checkHealth() -> String? {
        guard opened.withLock({ $0 }) else { return nil }
        return health.withLock { state -> String? in
            if state.connection == nil {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now >= state.nextConnect else { return nil }
                state.nextConnect = now + 5_000_000_000
                do {
                    state.connection = try PostgresConnection(settings: settings, readOnly: true)
                } catch SmrtJobsError.noSuchDatabase {
                    return "the database no longer exists"
                } catch {
                    return nil
                }
            }
            guard let connection = state.connection else { return nil }
            do {
                let row = try connection.query(
                    """
                    SELECT current_schema(), to_regclass(quote_ident(current_schema()) || '._smrt_jobs') IS NOT NULL
                    """
                ).row(0)
                guard let schema = row.string(0) else { return "its schema no longer exists" }
                return row.bool(1) ? nil : "the queue's tables are gone from schema \(schema)"
            } catch {
                if connection.isBroken { state.connection = nil }
                return nil
            }
        }
    }
}
