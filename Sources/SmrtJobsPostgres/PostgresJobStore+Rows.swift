import Foundation
import SmrtJobs

/// Column lists and parameter text. Every query that yields jobs or schedules selects (or RETURNs) exactly these
/// columns in this order, so `StoredRow.decodeJob` / `decodeSchedule` (core, shared with SQLite) decode each row
/// by position.
extension PostgresJobStore {
    static let jobColumnNames = [
        "id", "tenant_id", "queue", "object_type", "object_id", "method", "args", "run_at", "priority", "status",
        "attempts", "max_attempts", "timeout", "timeout_behavior", "started_at", "completed_at", "last_error",
        "result_pointer", "result", "retry_strategy", "worker_id", "worker_heartbeat", "created_at", "updated_at",
        "unique_key", "progress", "worker_pid", "worker_exit",
    ]

    static let jobColumns = jobColumns(of: nil)

    /// The job columns, each qualified by `table` when given (for statements that join).
    static func jobColumns(of table: String?) -> String {
        let prefix = table.map { $0 + "." } ?? ""
        return jobColumnNames.map { prefix + $0 }.joined(separator: ", ")
    }

    static let scheduleColumns = """
        id, tenant_id, agent_type, agent_id, agent_config, cron, timezone, enabled, status, last_run, next_run, \
        last_status, last_error, run_count, success_count, failure_count, max_concurrent, running_count, timeout, \
        method, method_args, created_at, updated_at
        """

    /// The stored text of the default retry strategy, computed once (enqueue's hot path).
    static let defaultRetryStrategyText = RetryStrategy.default.jsonValue.jsonText

    /// A date as a parameter: the text of `Timestamp` (UTC, whole milliseconds), which timestamptz reads.
    @inline(__always)
    static func text(_ date: Date?) -> String? { date.map(Timestamp.format) }

    /// A date as the store keeps it (whole milliseconds, rounded down as `Timestamp.format` writes it).
    @inline(__always)
    static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) / 1000)
    }

    static func text(_ value: Int) -> String { String(value) }
    static func text(_ value: Int64) -> String { String(value) }
    static func text(_ value: Bool?) -> String? { value.map { $0 ? "t" : "f" } }
    static func text(_ value: JSONValue?) -> String? { value?.jsonText }

    /// An array parameter (`text[]`, `bigint[]`, …): `{"a","b\"c",NULL}`.
    package static func array(_ values: [String?]) -> String {
        var text = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { text.append(",") }
            guard let value else {
                text.append("NULL")
                continue
            }
            text.unicodeScalars.append("\"")
            // By scalar: a quote followed by a combining mark is one Character, and must still be escaped.
            for scalar in value.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { text.unicodeScalars.append("\\") }
                text.unicodeScalars.append(scalar)
            }
            text.unicodeScalars.append("\"")
        }
        text.append("}")
        return text
    }

    /// Runs a statement yielding `jobColumns` and decodes every row.
    func selectJobs(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?]) throws -> [SmrtJob] {
        try connection.query(sql, parameters).rows.map { try $0.decodeJob(strategies: &retryStrategies) }
    }

    /// Runs a statement yielding `scheduleColumns` and decodes every row.
    func selectSchedules(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?]) throws -> [AgentSchedule] {
        try connection.query(sql, parameters).rows.map { try $0.decodeSchedule() }
    }
}

extension PostgresRow: StoredRow {}
