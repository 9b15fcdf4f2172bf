import CSQLite
import Foundation
import SmrtJobs

/// The SQLite implementation of `JobStore` and `ScheduleStore`: one database file shared by any number of
/// processes (WAL mode), one connection per store instance.
///
/// Every method takes the store's lock for the duration of its SQL, so an instance may be shared between
/// threads; calls on one instance run one at a time. Writers use `BEGIN IMMEDIATE`, so contention with
/// other processes waits up to `Options.busyTimeoutMs` instead of failing at once.
///
/// The schema is created or migrated when the store opens the file (see `SQLiteSchema`).
///
/// Completed and failed jobs keep `worker_id` (which worker ran the last attempt, for forensics); a job going
/// back to pending (retry, release, recovery) has `worker_id` and `worker_heartbeat` cleared.
public final class SQLiteJobStore: JobStore, ScheduleStore, @unchecked Sendable {  // the connection is used under `lock` only
    /// How the store opens its connection.
    public struct Options: Sendable, Equatable {
        /// How long a write waits for another connection's lock before failing with SQLITE_BUSY.
        public var busyTimeoutMs: Int32
        /// `PRAGMA synchronous`: `.normal` (default) or `.full`.
        public var synchronous: SQLiteConnection.Synchronous
        /// Permissions of the database file when this store creates it; SQLite gives its -wal and -shm files
        /// the same. An existing file keeps its mode.
        public var fileMode: UInt16
        /// Run WAL checkpoints on a thread of the store's own instead of inside the commit that crosses the
        /// threshold (`SQLiteCheckpointer`): for a long-lived, busy writer such as the supervisor, whose commits
        /// then never wait for the database file's `fsync`. Ignored for read-only and in-memory databases.
        public var checkpointsInBackground: Bool

        public init(
            busyTimeoutMs: Int32 = 5000, synchronous: SQLiteConnection.Synchronous = .normal, fileMode: UInt16 = 0o600,
            checkpointsInBackground: Bool = false
        ) {
            self.busyTimeoutMs = busyTimeoutMs
            self.synchronous = synchronous
            self.fileMode = fileMode
            self.checkpointsInBackground = checkpointsInBackground
        }
    }

    /// The database file.
    public let path: String
    public let options: Options

    // Everything below is guarded by `lock`.
    private let lock = NSLock()
    private let connection: SQLiteConnection
    /// Runs the connection's WAL checkpoints (`Options.checkpointsInBackground`).
    private let checkpointer: SQLiteCheckpointer?
    /// Decoded retry strategies by their stored text: almost every row holds one of a handful.
    var retryStrategies: [String: RetryStrategy] = [:]
    /// Claim SQL by number of queues (0 = any queue).
    var claimSQL: [Int: String] = [:]

    /// Opens the database at `path` as `access` allows (see `StoreAccess`; by default creating it when missing)
    /// and, unless read-only, switches it to WAL and brings its schema up to date.
    ///
    /// - Throws: `SmrtJobsError.noSuchDatabase`, `.notAQueueDatabase` or `.database`.
    public init(path: String, options: Options = .init(), access: StoreAccess = .createAnywhere) throws {
        self.path = path
        self.options = options
        connection = try SQLiteConnection(
            path: path, mode: access.mode, busyTimeoutMs: options.busyTimeoutMs, fileMode: options.fileMode)
        try SQLiteSchema.prepare(connection, access: access, synchronous: options.synchronous)
        if options.checkpointsInBackground && access.mode != .readOnly && !SQLiteConnection.isSpecialName(path) {
            let checkpointer = try SQLiteCheckpointer(path: path, busyTimeoutMs: options.busyTimeoutMs)
            checkpointer.attach(to: connection)
            self.checkpointer = checkpointer
        } else {
            checkpointer = nil
        }
    }

    deinit {
        if let checkpointer {
            checkpointer.detach(from: connection)
            checkpointer.stop()
        }
    }

    /// WAL checkpoints the background thread has run (`Options.checkpointsInBackground`; nil without it).
    public var backgroundCheckpoints: Int? { checkpointer?.checkpoints }

    /// Runs `body` with exclusive use of the connection.
    @inline(__always) @discardableResult
    func locked<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection)
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    public func schemaVersion() throws -> Int64 {
        try locked { try SQLiteSchema.version($0) }
    }

    /// Runs `body` with this store's connection under its lock: for diagnostics, tests and tools that need
    /// SQL the protocol does not offer. Do not keep the connection past the call.
    public func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try locked(body)
    }
}
