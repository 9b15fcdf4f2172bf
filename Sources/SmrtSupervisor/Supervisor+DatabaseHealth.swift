import Foundation
import Logging
import SmrtJobs

/// A database that cannot be used any more stops the supervisor with a clear error (exit 1) instead of leaving it
/// running jobs whose outcome it cannot record:
///
/// - errors the backend classes as `fatal` (e.g. disk full, I/O error, read-only or corrupt file). Busy and
///   unavailable errors are *not* among them: those are waited out (see `DatabaseThread`).
/// - the backend's health check failing, asked every `healthCheckInterval` ms on the database thread (e.g. the
///   SQLite file removed or replaced: SQLite would go on writing to the unlinked inode, so every later enqueue
///   would be invisible to this supervisor, and everything it records would vanish when it exits).
///
/// Either way: a `database_failed` line naming the cause, workers killed (their jobs are released if the
/// database still takes writes; otherwise they stay `running` under this supervisor's lease and the next
/// supervisor on this host takes them back at once), and `run()` throws `SupervisorError.database`.
extension Supervisor {
    /// Asks the backend's health check on the database thread (every `healthCheckInterval` ms).
    func checkDatabaseHealth(then done: @escaping () -> Void) {
        guard let backend else { return done() }
        database.perform({ _ in backend.checkHealth() }) { [self] result in
            done()
            if case .success(let problem?) = result { databaseFailed("\(problem) while the supervisor was running") }
        }
    }

    /// Stops the supervisor because the database cannot be used; `run()` then throws.
    func databaseFailed(_ problem: String) {
        guard runtimeError == nil, phase == .running || phase == .draining else { return }
        let message = "database \(databaseName) cannot be used: \(problem); stopping"
        runtimeError = SupervisorError.database(message)
        logger.critical(
            "\(message)",
            metadata: ["event": "database_failed", "db": .string(databaseName), "error": .string(problem)])
        healthChecks?.stop()
        stopNow()
    }
}
