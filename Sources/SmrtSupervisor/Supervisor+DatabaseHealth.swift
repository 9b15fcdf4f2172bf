import CSQLite
import Foundation
import Logging
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A database that cannot be used any more stops the supervisor with a clear error (exit 1) instead of leaving it
/// running jobs whose outcome it cannot record:
///
/// - SQLite errors that retrying cannot fix (`DatabaseFault`): disk full, I/O error (e.g. the file made
///   immutable), read-only file, corruption, not a database. A busy database is *not* one of them: that is
///   waited out (see `DatabaseThread`).
/// - The database file removed or replaced while running (checked every `databaseCheckInterval` ms with a
///   stat of the path against the file opened at start). SQLite would go on writing to the unlinked inode,
///   so every later enqueue (which creates a new, empty file at the path) would be invisible to this
///   supervisor, and everything it records would vanish when it exits.
///
/// Either way: an `database_failed` line naming the cause, workers killed (their jobs are released if the
/// database still takes writes; otherwise they stay `running` under this supervisor's lease and the next
/// supervisor on this host takes them back at once), and `run()` throws `SupervisorError.database`.
extension Supervisor {
    func startDatabaseHealthCheck() throws {
        let path = configuration.databasePath
        databaseHealth = try DatabaseHealthMonitor(
            loop: loop, path: path, intervalMs: configuration.databaseCheckInterval
        ) { [unowned self] problem in databaseFailed(problem) }
    }

    /// Stops the supervisor because the database cannot be used; `run()` then throws.
    func databaseFailed(_ problem: String) {
        guard runtimeError == nil, phase == .running || phase == .draining else { return }
        let message = "database \(configuration.databasePath) cannot be used: \(problem); stopping"
        runtimeError = SupervisorError.database(message)
        logger.critical(
            "\(message)",
            metadata: ["event": "database_failed", "db": .string(configuration.databasePath), "error": .string(problem)])
        databaseHealth?.stop()
        stopNow()
    }
}

/// SQLite result codes that mean the database cannot be written or trusted, whatever we retry.
enum DatabaseFault {
    static let fatalCodes: Set<Int32> = [
        SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB,
    ]

    /// The error, if it is one of those.
    static func fatal(_ error: Error) -> SmrtJobsError? {
        guard case .database(let code, _) = error as? SmrtJobsError, fatalCodes.contains(code & 0xFF) else { return nil }
        return error as? SmrtJobsError
    }
}

/// Stats the database path every `intervalMs` and reports when it no longer names the file opened at start.
final class DatabaseHealthMonitor {
    private let timer: UVTimer
    private let path: String
    private let identity: (device: UInt64, inode: UInt64)?
    private var onProblem: ((String) -> Void)?

    init(loop: UVLoop, path: String, intervalMs: Int, onProblem: @escaping (String) -> Void) throws {
        self.path = path
        self.onProblem = onProblem
        identity = Self.identity(of: path)
        timer = try UVTimer(loop: loop)
        // Paths SQLite does not back with a file (":memory:", URIs) are not watched.
        guard identity != nil else { return }
        let every = UInt64(intervalMs)
        try timer.start(timeoutMs: every, repeatMs: every) { [unowned self] _ in check() }
    }

    func stop() {
        timer.stop()
    }

    func close() {
        onProblem = nil
        timer.close()
    }

    private func check() {
        guard let identity else { return }
        var info = stat()
        if stat(path, &info) != 0 {
            let reason = errno == ENOENT ? "the file was removed" : "cannot stat it: \(String(cString: strerror(errno)))"
            report("\(reason) while the supervisor was running")
        } else if UInt64(info.st_dev) != identity.device || UInt64(info.st_ino) != identity.inode {
            report("the file was replaced by another file while the supervisor was running")
        }
    }

    private func report(_ problem: String) {
        timer.stop()
        onProblem?(problem)
    }

    private static func identity(of path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}
