import Foundation
import SmrtJobs

/// The PostgreSQL implementation of `JobStore` and `ScheduleStore`: the queue's tables in one schema of a
/// server database, shared by any number of processes and hosts, one connection per store instance.
///
/// Every method takes the store's lock for the duration of its SQL, so an instance may be shared between
/// threads; calls on one instance run one at a time. Claims lock rows with `FOR UPDATE SKIP LOCKED`, so
/// concurrent claimers never wait for each other nor get the same job.
///
/// A lost connection fails the call that found it with `unavailable` (a write whose commit outcome is unknown
/// is never re-run); the next call reconnects, at most once per back-off step (100 ms doubling to 5 s).
/// Writes that may make a job claimable or end one send one `pg_notify` per transaction on `channel`.
///
/// Completed and failed jobs keep `worker_id` (which worker ran the last attempt, for forensics); a job going
/// back to pending (retry, release, recovery) has `worker_id` and `worker_heartbeat` cleared.
public final class PostgresJobStore: JobStore, ScheduleStore, @unchecked Sendable {  // state is used under `lock` only
    public let settings: PostgresSettings
    public let access: StoreAccess
    /// The schema that holds the queue.
    public let schema: String
    /// The NOTIFY channel of the queue's schema.
    public let channel: String

    // Everything below is guarded by `lock`.
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var reconnect = ReconnectBackoff()
    /// Decoded retry strategies by their stored text: almost every row holds one of a handful.
    var retryStrategies: [String: RetryStrategy] = [:]

    /// Connects and readies the schema as `access` allows (see `StoreAccess` and `PostgresSchema`).
    ///
    /// - Throws: `SmrtJobsError.noSuchDatabase`, `.notAQueueDatabase` or `.database`.
    public init(settings: PostgresSettings, access: StoreAccess = .createAnywhere) throws {
        self.settings = settings
        self.access = access
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(settings: settings, readOnly: !access.writes)
        } catch SmrtJobsError.noSuchDatabase(let name) where access.mode == .create {
            // Schemas and tables are created on demand; a database never is (it needs its owner, encoding, ...).
            throw SmrtJobsError.noSuchDatabase(
                name: "\(name) (smrt-jobs creates its schema and tables but never a PostgreSQL database: create it first, e.g. with createdb)")
        }
        schema = try PostgresSchema.prepare(connection, access: access, displayName: settings.displayName)
        channel = PostgresSchema.channel(forSchema: schema)
        self.connection = connection
    }

    /// Runs `body` with exclusive use of a live connection, reconnecting first when the last one was lost.
    @discardableResult
    func locked<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let connection = try liveConnection()
        do {
            return try body(connection)
        } catch {
            if connection.isBroken {
                self.connection = nil
                reconnect.lost()
            }
            throw error
        }
    }

    /// The connection, or a new one when the back-off allows an attempt. Call with `lock` held.
    private func liveConnection() throws -> PostgresConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        if let waitMs = reconnect.waitMs() {
            throw SmrtJobsError.database(
                kind: .unavailable,
                message: "no connection to PostgreSQL (\(settings.displayName)); next attempt in \(waitMs) ms")
        }
        do {
            let fresh = try PostgresConnection(settings: settings, readOnly: !access.writes)
            reconnect.connected()
            connection = fresh
            return fresh
        } catch SmrtJobsError.noSuchDatabase(let name) {
            reconnect.failed()
            throw SmrtJobsError.database(kind: .fatal, message: "the database of \(name) no longer exists")
        } catch {
            reconnect.failed()
            throw error
        }
    }

    /// `SELECT pg_notify(channel, '')`: wakes the change signals of this queue when the transaction commits
    /// (PostgreSQL sends identical notifications of one transaction once).
    func notify(_ connection: PostgresConnection) throws {
        try connection.query("SELECT pg_notify($1, '')", [channel])
    }

    /// The schema version of the queue.
    public func schemaVersion() throws -> Int64 {
        try locked { try PostgresSchema.version($0) }
    }

    /// Runs `body` with this store's connection under its lock: for diagnostics, tests and tools that need
    /// SQL the protocol does not offer. Do not keep the connection past the call.
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try locked(body)
    }

    /// The server's clock (`clock_timestamp()`), to the millisecond.
    public func databaseTime() throws -> Date? {
        try locked { connection in try connection.query("SELECT clock_timestamp()").row(0).date(0) }
    }
}

/// When a store may try to reconnect: at once after a loss, then 100 ms after a failed attempt, doubling up
/// to 5 s; a successful connect starts over.
struct ReconnectBackoff {
    static let firstDelayNs: UInt64 = 100_000_000
    static let maxDelayNs: UInt64 = 5_000_000_000
    private var delayNs: UInt64 = 0
    private var notBefore: UInt64 = 0

    /// Milliseconds until the next attempt is allowed, or nil when it is allowed now.
    func waitMs() -> UInt64? {
        let now = DispatchTime.now().uptimeNanoseconds
        return now >= notBefore ? nil : (notBefore - now + 999_999) / 1_000_000
    }

    mutating func lost() {
        delayNs = 0
        notBefore = 0
    }

    mutating func failed() {
        delayNs = delayNs == 0 ? Self.firstDelayNs : min(delayNs * 2, Self.maxDelayNs)
        notBefore = DispatchTime.now().uptimeNanoseconds + delayNs
    }

    mutating func connected() {
        delayNs = 0
        notBefore = 0
    }
}
