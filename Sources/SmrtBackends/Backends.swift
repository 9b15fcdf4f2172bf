import SmrtJobs
import SmrtJobsPostgres
import SmrtJobsSQLite

/// How a backend opens its database: the few settings that are not part of the `--db` string.
public struct BackendOptions: Sendable, Equatable {
    /// How long a write waits for a lock another connection holds before failing as `busy`.
    public var busyTimeoutMs: Int32
    /// Permissions of a database file the backend creates (file-based backends); default 0600.
    public var fileMode: UInt16
    /// SQLite: run WAL checkpoints on a thread of their own, not inside a commit (for a long-lived, busy writer
    /// such as the supervisor; see `SQLiteJobStore.Options.checkpointsInBackground`). Other backends ignore it.
    public var checkpointsInBackground: Bool

    public init(busyTimeoutMs: Int32 = 5000, fileMode: UInt16 = 0o600, checkpointsInBackground: Bool = false) {
        self.busyTimeoutMs = busyTimeoutMs
        self.fileMode = fileMode
        self.checkpointsInBackground = checkpointsInBackground
    }
}

/// Opens the backend a `--db` string names: the one place that knows every backend.
///
/// - a file path (`jobs.sqlite`, `/var/lib/app/jobs.db`), or `sqlite:PATH`: SQLite.
/// - `postgres://…` or `postgresql://…` (libpq's URL): PostgreSQL; the queue lives in the first schema of the
///   search path (`?options=-csearch_path%3Dqueue`). A URL libpq cannot parse is `invalidValue`, before any
///   connection. The password may also come from `PGPASSWORD` or `~/.pgpass`.
public enum Backends {
    public static func open(_ database: String, options: BackendOptions = .init()) throws -> any JobBackend {
        guard !database.isEmpty else {
            throw SmrtJobsError.invalidValue(field: "database", value: database, reason: "must name a SQLite file or a postgres:// URL")
        }
        if let scheme = scheme(of: database) {
            switch scheme {
            case "sqlite":
                return sqlite(String(database.dropFirst("sqlite:".count)), options)
            case "postgres", "postgresql":
                return try PostgresBackend(url: database, lockTimeoutMs: options.busyTimeoutMs)
            default:
                throw SmrtJobsError.invalidValue(
                    field: "database", value: ArgumentRedaction.redact(text: database),
                    reason: "unknown kind of database '\(scheme):'; expected a SQLite file path or a postgres:// URL")
            }
        }
        return sqlite(database, options)
    }

    private static func sqlite(_ path: String, _ options: BackendOptions) -> SQLiteBackend {
        SQLiteBackend(
            path: path,
            options: .init(
                busyTimeoutMs: options.busyTimeoutMs, fileMode: options.fileMode,
                checkpointsInBackground: options.checkpointsInBackground))
    }

    /// `postgres` of `postgres://…`, `sqlite` of `sqlite:jobs.db`; nil for a plain path (a path may contain ':').
    static func scheme(of database: String) -> String? {
        guard let colon = database.firstIndex(of: ":") else { return nil }
        let scheme = database[..<colon]
        guard let first = scheme.first, first.isLetter,
            scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." })
        else { return nil }
        let lowered = scheme.lowercased()
        // `sqlite:` may take a plain path; any other scheme must look like a URL.
        if lowered == "sqlite" || database[colon...].hasPrefix("://") { return lowered }
        return nil
    }
}
