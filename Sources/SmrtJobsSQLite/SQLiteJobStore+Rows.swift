import Foundation
import SmrtJobs

/// Column lists. Every query that yields jobs or schedules selects (or RETURNs) exactly these columns in this
/// order, so `StoredRow.decodeJob` / `decodeSchedule` (core, shared with PostgreSQL) decode each row by position.
extension SQLiteJobStore {
    static let jobColumns = """
        id, tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, attempts, \
        max_attempts, timeout, timeout_behavior, started_at, completed_at, last_error, result_pointer, result, \
        retry_strategy, worker_id, worker_heartbeat, created_at, updated_at, unique_key, progress, worker_pid, worker_exit
        """

    static let scheduleColumns = """
        id, tenant_id, agent_type, agent_id, agent_config, cron, timezone, enabled, status, last_run, next_run, \
        last_status, last_error, run_count, success_count, failure_count, max_concurrent, running_count, timeout, \
        method, method_args, created_at, updated_at
        """

    /// The stored text of the default retry strategy, computed once (enqueue's hot path).
    static let defaultRetryStrategyText = RetryStrategy.default.jsonValue.jsonText

    /// A date as the store keeps it (whole milliseconds, as `Timestamp.format` writes and `parse` reads).
    @inline(__always)
    static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) / 1000)
    }
}

extension SQLiteStatement: StoredRow {}
