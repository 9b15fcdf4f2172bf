import CLibPQ
import Foundation
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin wrapper over one libpq connection: connect, statements with text parameters (prepared once per
/// connection and reused), typed results and transactions, with every failure turned into a
/// `SmrtJobsError` by `PostgresError`.
///
/// Not thread-safe: one connection is used by one thread at a time (the owner guards it with a lock).
/// Session settings: time zone UTC and ISO dates (the text form `PostgresRow.date` reads), and read-only
/// transactions for a read-only connection.
public final class PostgresConnection {
    /// The oldest server this library supports (`PQserverVersion` form).
    static let minimumServerVersion: Int32 = 130_000

    /// The raw `PGconn`, for the rare call this wrapper does not offer. Valid until the connection is deallocated.
    public let handle: OpaquePointer
    /// The server as `host:port/dbname`, for messages: no user, no password.
    public let serverName: String
    let settings: PostgresSettings
    /// Names of the statements prepared on this session, by SQL.
    private var statements: [String: String] = [:]
    /// Set when the connection was found lost: every call fails as `unavailable` from then on.
    public private(set) var isBroken = false

    /// Connects (blocking, up to the connect timeout) and readies the session.
    ///
    /// - Parameter readOnly: every transaction of the session is read-only, so every write fails.
    /// - Throws: `SmrtJobsError.noSuchDatabase` when the server has no such database, `.database` otherwise
    ///   (`unavailable` when the server cannot be reached, `fatal` for refused credentials or an old server).
    public init(settings: PostgresSettings, readOnly: Bool = false) throws {
        self.settings = settings
        handle = try Self.connect(settings)
        serverName = Self.serverName(handle)
        // From here on deinit finishes the handle, also when a call below throws.
        try checkServerVersion()
        Self.closeOnExec(PQsocket(handle))
        // libpq prints NOTICEs (e.g. "drop cascades to …") on stderr by default: not ours to print.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        var setup = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; "
            + "SET lock_timeout = \(max(0, settings.lockTimeoutMs))"
        if readOnly { setup += "; SET default_transaction_read_only = on" }
        try exec(setup)
    }

    deinit {
        PQfinish(handle)
    }

    /// `PQconnectdbParams` with our defaults placed before the string, so what the string says wins.
    private static func connect(_ settings: PostgresSettings) throws -> OpaquePointer {
        var keywords = ["fallback_application_name"]
        var values = ["smrt-jobs"]
        if getenv("PGCONNECT_TIMEOUT") == nil {
            keywords.append("connect_timeout")
            values.append(String(PostgresSettings.defaultConnectTimeoutSeconds))
        }
        // A link that goes dead (a partition, a host gone) is noticed in about 10 s instead of the kernel's
        // minutes, so a call waiting on it fails as unavailable and the next one reconnects.
        for (keyword, value) in Self.deadLinkDefaults {
            keywords.append(keyword)
            values.append(value)
        }
        keywords.append("dbname")
        values.append(settings.connectionString)
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let connection else {
            throw SmrtJobsError.database(kind: .unavailable, message: "cannot connect to PostgreSQL: out of memory")
        }
        if PQstatus(connection) == CONNECTION_OK { return connection }
        let error = PostgresError.connectFailure(connection, settings: settings)
        PQfinish(connection)
        throw error
    }

    /// TCP keepalives and a user timeout (ms) for unacknowledged data; the URL may set others.
    static let deadLinkDefaults: [(String, String)] = [
        ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
        ("tcp_user_timeout", "10000"),
    ]

    /// `host:port/dbname` of a connection (also of one that failed to connect).
    static func serverName(_ connection: OpaquePointer) -> String {
        let host = PQhost(connection).map { String(cString: $0) } ?? ""
        let port = PQport(connection).map { String(cString: $0) } ?? ""
        let database = PQdb(connection).map { String(cString: $0) } ?? ""
        let shownHost = host.isEmpty ? "localhost" : host
        return port.isEmpty ? "\(shownHost)/\(database)" : "\(shownHost):\(port)/\(database)"
    }

    private func checkServerVersion() throws {
        let version = PQserverVersion(handle)
        guard version < Self.minimumServerVersion else { return }
        // Since PostgreSQL 10 the number is major * 10000 + minor; before, major * 10000 + minor * 100 + patch.
        let shown = version >= 100_000 ? "\(version / 10_000).\(version % 10_000)" : "\(version / 10_000).\(version / 100 % 100)"
        throw SmrtJobsError.database(
            kind: .fatal, message: "PostgreSQL 13 or newer is needed; the server at \(serverName) is \(shown)")
    }

    /// libpq marks its sockets close-on-exec; this makes sure of it, since the supervisor forks workers that
    /// must never inherit a database connection.
    static func closeOnExec(_ fd: Int32) {
        guard fd >= 0 else { return }
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// The socket of the connection (for `poll`), or -1.
    public var socket: Int32 { PQsocket(handle) }

    /// Whether a transaction is open (or failed and not yet rolled back).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Runs one or more statements without parameters (DDL, SET, BEGIN). Not prepared: not for hot paths.
    @discardableResult
    public func exec(_ sql: String) throws -> PostgresResult {
        try checkUsable()
        return try PostgresResult(checking: PQexec(handle, sql), connection: self)
    }

    /// Runs `sql` with text parameters (`$1`, `$2`, …; nil is NULL), preparing it once per session under a
    /// name of its own and reusing it afterwards.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        try checkUsable()
        let name = try preparedName(sql)
        return try withParameters(parameters) { count, values in
            try PostgresResult(checking: PQexecPrepared(handle, name, count, values, nil, nil, 0), connection: self)
        }
    }

    /// Runs `sql` with text parameters without preparing it: for statements that run once.
    @discardableResult
    public func queryOnce(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        try checkUsable()
        return try withParameters(parameters) { count, values in
            try PostgresResult(checking: PQexecParams(handle, sql, count, nil, values, nil, nil, 0), connection: self)
        }
    }

    private func preparedName(_ sql: String) throws -> String {
        if let name = statements[sql] { return name }
        let name = "smrt_\(statements.count + 1)"
        _ = try PostgresResult(checking: PQprepare(handle, name, sql, 0, nil), connection: self)
        statements[sql] = name
        return name
    }

    /// Runs `body` with the parameters as one buffer of NUL-terminated strings and an array of pointers into it.
    private func withParameters<T>(
        _ parameters: [String?], _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) throws -> T
    ) throws -> T {
        if parameters.isEmpty { return try body(0, nil) }
        var buffer: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard let parameter else {
                offsets.append(nil)
                continue
            }
            offsets.append(buffer.count)
            parameter.utf8CString.withUnsafeBufferPointer { buffer.append(contentsOf: $0) }
        }
        return try buffer.withUnsafeBufferPointer { bytes in
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in offset.map { bytes.baseAddress! + $0 } }
            return try pointers.withUnsafeBufferPointer { try body(Int32(parameters.count), $0.baseAddress) }
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws. Inside an open
    /// transaction `body` simply runs as part of it. A commit whose outcome is unknown (the connection was
    /// lost) throws `unavailable`: the caller must not assume either outcome.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if isInTransaction { return try body() }
        try exec("BEGIN")
        do {
            let value = try body()
            try exec("COMMIT")
            return value
        } catch {
            if !isBroken && isInTransaction { _ = try? exec("ROLLBACK") }
            throw error
        }
    }

    /// Throws `unavailable` once the connection was found lost; notices a loss libpq has seen meanwhile.
    private func checkUsable() throws {
        if !isBroken && PQstatus(handle) == CONNECTION_BAD { isBroken = true }
        if isBroken {
            throw SmrtJobsError.database(kind: .unavailable, message: "lost the connection to PostgreSQL at \(serverName)")
        }
    }

    /// Called by `PostgresResult` when a call failed with the connection gone.
    func markBroken() {
        isBroken = true
        statements.removeAll()
    }
}

/// Runs `body` with `strings` as a NULL-terminated array of C strings.
func withCStringArray<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
