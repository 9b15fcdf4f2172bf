import Foundation
import SmrtJobs

/// Column lists, parameter text and row decoding. Every query that yields jobs or schedules selects (or
/// RETURNs) exactly these columns in this order, so one function decodes each kind of row by position.
extension PostgresJobStore {
    static let jobColumnNames = [
        "id", "tenant_id", "queue", "object_type", "object_id", "method", "args", "run_at", "priority", "status",
        "attempts", "max_attempts", "timeout", "timeout_behavior", "started_at", "completed_at", "last_error",
        "result_pointer", "result", "retry_strategy", "worker_id", "worker_heartbeat", "created_at", "updated_at",
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

    /// Decodes a row selecting `jobColumns`.
    func decodeJob(_ row: PostgresRow) throws -> SmrtJob {
        let id = row.int64(0)
        func corrupt(_ column: String, _ value: String?) -> SmrtJobsError {
            .database(kind: .fatal, message: "job \(id): unreadable \(column) '\(value ?? "NULL")'")
        }
        func requiredDate(_ column: Int32, _ name: String) throws -> Date {
            guard let date = row.date(column) else { throw corrupt(name, row.string(column)) }
            return date
        }
        guard let status = row.string(9).flatMap(JobStatus.init(rawValue:)) else { throw corrupt("status", row.string(9)) }
        guard let timeoutBehavior = row.string(13).flatMap(TimeoutBehavior.init(rawValue:)) else {
            throw corrupt("timeout_behavior", row.string(13))
        }
        guard let args = try json(row, 6, what: "args of job \(id)")?.objectValue else { throw corrupt("args", row.string(6)) }
        return SmrtJob(
            id: id,
            tenantId: row.string(1),
            queue: row.string(2) ?? "default",
            objectType: row.string(3) ?? "",
            objectId: row.string(4),
            method: row.string(5) ?? "",
            args: args,
            runAt: try requiredDate(7, "run_at"),
            priority: row.int(8),
            status: status,
            attempts: row.int(10),
            maxAttempts: row.int(11),
            timeout: row.int(12),
            timeoutBehavior: timeoutBehavior,
            startedAt: row.date(14),
            completedAt: row.date(15),
            lastError: row.string(16),
            resultPointer: row.string(17),
            result: try json(row, 18, what: "result of job \(id)"),
            retryStrategy: try retryStrategy(row, 19),
            workerId: row.string(20),
            workerHeartbeat: row.date(21),
            createdAt: try requiredDate(22, "created_at"),
            updatedAt: try requiredDate(23, "updated_at"))
    }

    /// Decodes a row selecting `scheduleColumns`.
    func decodeSchedule(_ row: PostgresRow) throws -> AgentSchedule {
        let id = row.int64(0)
        func corrupt(_ column: String, _ value: String?) -> SmrtJobsError {
            .database(kind: .fatal, message: "schedule \(id): unreadable \(column) '\(value ?? "NULL")'")
        }
        guard let status = row.string(8).flatMap(AgentSchedule.Status.init(rawValue:)) else {
            throw corrupt("status", row.string(8))
        }
        var lastStatus: AgentSchedule.LastStatus?
        if let text = row.string(11) {
            guard let value = AgentSchedule.LastStatus(rawValue: text) else { throw corrupt("last_status", text) }
            lastStatus = value
        }
        var agentConfig: [String: JSONValue]?
        if let config = try json(row, 4, what: "agent_config of schedule \(id)") {
            guard let members = config.objectValue else { throw corrupt("agent_config", row.string(4)) }
            agentConfig = members
        }
        guard let methodArgs = try json(row, 20, what: "method_args of schedule \(id)")?.objectValue else {
            throw corrupt("method_args", row.string(20))
        }
        guard let createdAt = row.date(21), let updatedAt = row.date(22) else {
            throw corrupt("created_at/updated_at", row.string(21))
        }
        return AgentSchedule(
            id: id,
            tenantId: row.string(1),
            agentType: row.string(2) ?? "",
            agentId: row.string(3),
            agentConfig: agentConfig,
            cron: row.string(5) ?? "",
            timezone: row.string(6) ?? "UTC",
            enabled: row.bool(7),
            status: status,
            lastRun: row.date(9),
            nextRun: row.date(10),
            lastStatus: lastStatus,
            lastError: row.string(12),
            runCount: row.int(13),
            successCount: row.int(14),
            failureCount: row.int(15),
            maxConcurrent: row.int(16),
            runningCount: row.int(17),
            timeout: row.int(18),
            method: row.string(19) ?? "run",
            methodArgs: methodArgs,
            createdAt: createdAt,
            updatedAt: updatedAt)
    }

    /// A JSON column, or nil when NULL. Parsed from the column bytes; `JSONValue.parse` only for odd text.
    @inline(__always)
    func json(_ row: PostgresRow, _ column: Int32, what: @autoclosure () -> String) throws -> JSONValue? {
        try row.withBytes(column) { bytes throws -> JSONValue? in
            guard let bytes else { return nil }
            if let value = JSONParser.parse(bytes) { return value }
            return try JSONValue.parse(String(decoding: bytes, as: UTF8.self), what: what())
        }
    }

    /// The retry strategy column, decoded once per distinct text.
    private func retryStrategy(_ row: PostgresRow, _ column: Int32) throws -> RetryStrategy {
        guard let text = row.string(column) else { return .default }
        if let known = retryStrategies[text] { return known }
        let strategy = try RetryStrategy(jsonValue: json(row, column, what: "retry_strategy") ?? .null)
        if retryStrategies.count < 256 { retryStrategies[text] = strategy }
        return strategy
    }

    /// Runs a statement yielding `jobColumns` and decodes every row.
    func selectJobs(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?]) throws -> [SmrtJob] {
        try connection.query(sql, parameters).rows.map(decodeJob)
    }

    /// Runs a statement yielding `scheduleColumns` and decodes every row.
    func selectSchedules(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?]) throws -> [AgentSchedule] {
        try connection.query(sql, parameters).rows.map(decodeSchedule)
    }
}
