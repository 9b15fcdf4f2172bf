import CSQLite
import Foundation
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin wrapper over one sqlite3 connection: open, pragmas, exec, cached prepared statements and
/// transactions, with every result code turned into `SmrtJobsError.database` by `SQLiteConnection.check`.
///
/// Not thread-safe: one connection is used by one thread at a time (the owner guards it with a lock).
/// The connection is opened with `SQLITE_OPEN_NOMUTEX` for that reason.
public final class SQLiteConnection {
    /// `PRAGMA synchronous`: NORMAL is durable against application crashes in WAL mode and loses at most the
    /// last transactions on power loss; FULL also syncs the WAL at every commit.
    public enum Synchronous: String, Sendable, CaseIterable {
        case normal = "NORMAL"
        case full = "FULL"

        /// The value `PRAGMA synchronous` reads back.
        public var pragmaValue: Int { self == .normal ? 1 : 2 }
    }

    /// The raw handle, for the rare call this wrapper does not offer. Valid until the connection is deallocated.
    public let handle: OpaquePointer
    /// The database file.
    public let path: String
    /// How long a statement waits for a lock another connection holds.
    public let busyTimeoutMs: Int32
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (creating it with mode 0600 when missing) the database at `path`, in WAL mode.
    ///
    /// - Parameters:
    ///   - busyTimeoutMs: how long a statement waits for a lock another connection holds before SQLITE_BUSY.
    ///   - synchronous: durability of commits.
    ///   - fileMode: permissions of the file if this call creates it (default 0600, exactly: not masked by umask).
    public convenience init(path: String, busyTimeoutMs: Int32 = 5000, synchronous: Synchronous = .normal, fileMode: UInt16 = 0o600) throws {
        try self.init(path: path, mode: .create, busyTimeoutMs: busyTimeoutMs, fileMode: fileMode)
        try enableWAL(synchronous: synchronous)
    }

    /// Opens the database at `path` as `mode` allows, and changes nothing in it: the journal mode is left as
    /// it is (see `enableWAL(synchronous:)`).
    ///
    /// - `.readOnly`: `SQLITE_OPEN_READONLY`; every write fails with SQLITE_READONLY.
    /// - `.readWrite`: the file must exist.
    /// - `.create`: the file is created with `fileMode` (exactly: not masked by umask) when missing.
    ///
    /// A missing file (when `mode` does not create) is `SmrtJobsError.noSuchDatabase`; a file that cannot be
    /// looked at (e.g. a directory on the way without search permission) is a `fatal` database error saying so.
    public init(path: String, mode: StoreAccess.Mode, busyTimeoutMs: Int32 = 5000, fileMode: UInt16 = 0o600) throws {
        self.path = path
        self.busyTimeoutMs = busyTimeoutMs
        if mode == .create {
            try SQLiteConnection.createPrivately(path, mode: fileMode)
        } else if !SQLiteConnection.isSpecialName(path) {
            try SQLiteConnection.requireExisting(path)
        }
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard let db else {
            throw SmrtJobsError.database(kind: Self.kind(of: rc), message: "cannot open \(path): \(String(cString: sqlite3_errstr(rc)))")
        }
        if rc != SQLITE_OK {
            var message = String(cString: sqlite3_errmsg(db))
            // "unable to open database file" alone does not say why; the operating system's reason does.
            let systemError = sqlite3_system_errno(db)
            if systemError != 0 { message += " (\(String(cString: strerror(systemError))))" }
            sqlite3_close_v2(db)
            throw SmrtJobsError.database(kind: Self.kind(of: rc), message: "cannot open \(path): \(message)")
        }
        handle = db
        // From here on deinit closes the handle, also when a call below throws.
        try SQLiteConnection.check(sqlite3_busy_timeout(db, busyTimeoutMs), db)
    }

    /// Switches the database to WAL mode (persistent in the file: a no-op after the first opener) and sets
    /// `synchronous` for this connection. A journal mode that is not "wal" afterwards (e.g. a file system
    /// without shared memory) is an error, not a silent fallback to rollback journaling.
    public func enableWAL(synchronous: Synchronous = .normal) throws {
        let mode = try switchToWAL(deadlineMs: Int(busyTimeoutMs))
        guard mode?.lowercased() == "wal" else {
            throw SmrtJobsError.database(kind: .fatal, message: "cannot switch \(path) to WAL mode (got \(mode ?? "nil"))")
        }
        try exec("PRAGMA synchronous=\(synchronous.rawValue)")
    }

    deinit {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Maps a result code to `SmrtJobsError.database` with `sqlite3_errmsg`; the one place that does so.
    /// OK, ROW and DONE pass.
    @inline(__always)
    public static func check(_ rc: Int32, _ db: OpaquePointer?) throws {
        if rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE { return }
        throw error(rc, db)
    }

    /// The error for a failed result code (kept out of line: the hot path only compares).
    @inline(never)
    static func error(_ rc: Int32, _ db: OpaquePointer?) -> SmrtJobsError {
        let message: String
        if let db, sqlite3_errcode(db) == rc {
            message = String(cString: sqlite3_errmsg(db))
        } else {
            message = String(cString: sqlite3_errstr(rc))
        }
        return .database(kind: kind(of: rc), message: message)
    }

    /// Sorts a result code into the classes callers act on: a lock held too long is `busy`; codes that mean the
    /// file cannot be written or trusted are `fatal`; constraint, type and size errors are `badInput`.
    public static func kind(of rc: Int32) -> DatabaseErrorKind {
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        case SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB:
            return .fatal
        case SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE, SQLITE_TOOBIG: return .badInput
        default: return .other
        }
    }

    /// Creates the file with `mode` (0600 by default) when it does not exist yet. SQLite gives the -wal and -shm files the
    /// database file's permissions, so they are private too. `open(O_CREAT)` is atomic, unlike a umask dance,
    /// which would also affect every other thread of the process.
    private static func createPrivately(_ path: String, mode: UInt16 = 0o600) throws {
        if isSpecialName(path) { return }
        // An existing file is never opened here: closing any descriptor of a file drops every POSIX lock this
        // process holds on it, including those of another SQLite connection in this process, after which a
        // second process could reset the WAL under it and commits would be lost.
        var info = stat()
        if stat(path, &info) == 0 { return }
        // Not "missing" (e.g. a directory on the way without search permission): creating would fail with the
        // same error and call it "cannot create" for a file that may well exist.
        if errno != ENOENT { throw unreadable(path, errno) }
        // O_EXCL tells whether this call created the file: only then is its mode set (exactly, whatever the umask).
        let created = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        if created >= 0 {
            _ = fchmod(created, mode_t(mode))
            close(created)
            return
        }
        let err = errno
        // Created by another process a moment ago: SQLite opens it.
        if err == EEXIST { return }
        throw SmrtJobsError.database(
            kind: .fatal, message: "cannot create \(path): \(String(cString: strerror(err)))")
    }

    /// Names SQLite does not back with a file of that name: nothing to create or look for.
    static func isSpecialName(_ path: String) -> Bool {
        path == ":memory:" || path.isEmpty || path.hasPrefix("file:")
    }

    /// Throws `noSuchDatabase` when nothing is at `path`, and says why when it cannot be looked at.
    private static func requireExisting(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 { return }
        let err = errno
        if err == ENOENT || err == ENOTDIR { throw SmrtJobsError.noSuchDatabase(name: path) }
        throw unreadable(path, err)
    }

    /// `cannot read PATH: Permission denied`: the file (or a directory on its path) may exist but cannot be read.
    private static func unreadable(_ path: String, _ err: Int32) -> SmrtJobsError {
        .database(kind: .fatal, message: "cannot read \(path): \(String(cString: strerror(err)))")
    }

    /// Sets WAL mode (persistent in the file, so a no-op after the first opener) and returns the mode in effect.
    ///
    /// When several connections open a new file at once, the switch can fail with SQLITE_BUSY without the busy
    /// handler being consulted (seen here with 6 simultaneous openers), so it is retried until the busy
    /// timeout has passed, as the busy handler would have done.
    private func switchToWAL(deadlineMs: Int) throws -> String? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, deadlineMs)) * 1_000_000
        var pause: useconds_t = 500
        while true {
            do {
                return try scalarText("PRAGMA journal_mode=WAL")
            } catch SmrtJobsError.database(.busy, let message) {
                if DispatchTime.now().uptimeNanoseconds >= deadline { throw SmrtJobsError.database(kind: .busy, message: message) }
                usleep(pause)
                pause = min(pause * 2, 20_000)
            }
        }
    }

    /// Runs one or more statements that return nothing useful (DDL, pragmas). Not cached: not for hot paths.
    public func exec(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw SmrtJobsError.database(kind: Self.kind(of: rc), message: message)
        }
    }

    /// The prepared statement for `sql`, compiled once per connection and reused (reset) afterwards.
    /// Prefer `withStatement`, which also resets the statement and clears its bindings.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        try SQLiteConnection.check(rc, handle)
        guard let raw else {
            throw SmrtJobsError.database(kind: .badInput, message: "no statement in SQL: \(sql)")
        }
        let statement = SQLiteStatement(raw, db: handle)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` with the cached statement for `sql`, then resets it and clears its bindings,
    /// so locks are released and no value leaks into the next use.
    @inline(__always)
    public func withStatement<T>(_ sql: String, _ body: (SQLiteStatement) throws -> T) throws -> T {
        let statement = try prepare(sql)
        defer { statement.reset() }
        return try body(statement)
    }

    /// Runs a statement to completion, ignoring rows; returns `changes`.
    @discardableResult
    public func run(_ sql: String, _ bind: (SQLiteStatement) throws -> Void = { _ in }) throws -> Int {
        try withStatement(sql) { statement in
            try bind(statement)
            while try statement.step() {}
            return changes
        }
    }

    /// The first column of the first row as text, or nil.
    public func scalarText(_ sql: String) throws -> String? {
        try withStatement(sql) { statement in try statement.step() ? statement.string(0) : nil }
    }

    /// The first column of the first row as an integer, or nil.
    public func scalarInt(_ sql: String) throws -> Int64? {
        try withStatement(sql) { statement in try statement.step() && !statement.isNull(0) ? statement.int64(0) : nil }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// True while a transaction is open.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// `immediate` (the default, for anything that writes) takes the write lock at BEGIN, so waiting for
    /// another writer goes through the busy timeout; a deferred transaction that later upgrades to a writer
    /// fails with SQLITE_BUSY at once. Inside an open transaction `body` simply runs as part of it.
    @discardableResult
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        if isInTransaction { return try body() }
        try run(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let value = try body()
            try run("COMMIT")
            return value
        } catch {
            // A failed statement may already have rolled back (SQLITE_FULL, IOERR...): nothing to undo then.
            if isInTransaction { _ = try? run("ROLLBACK") }
            throw error
        }
    }
}
