import Foundation

/// One result row of a store, read by column index (0-based), as the SQL backends' row types already read it.
///
/// The decoders below read columns by position: a row decoded with `decodeJob` must select the columns of the
/// stores' `jobColumns` (id, tenant_id, queue, … in `_smrt_jobs` order, then unique_key, progress, worker_pid,
/// worker_exit), one decoded with `decodeSchedule` those
/// of their `scheduleColumns`, in exactly that order. Both stores select the same lists.
package protocol StoredRow {
    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) -> Int64
    func int(_ column: Int32) -> Int
    func bool(_ column: Int32) -> Bool
    func string(_ column: Int32) -> String?
    func date(_ column: Int32) -> Date?
    /// The column's bytes (nil when NULL), valid only inside `body`.
    func withBytes<T>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T
}

extension StoredRow {
    /// Decodes a row selecting the stores' `jobColumns`. `strategies` caches decoded retry strategies by their
    /// stored text (bounded: at most 256 entries; rows beyond that just decode each time).
    package func decodeJob(strategies: inout [String: RetryStrategy]) throws -> SmrtJob {
        let id = int64(0)
        func corrupt(_ column: String, _ value: String?) -> SmrtJobsError {
            .database(kind: .fatal, message: "job \(id): unreadable \(column) '\(value ?? "NULL")'")
        }
        func requiredDate(_ column: Int32, _ name: String) throws -> Date {
            guard let date = date(column) else { throw corrupt(name, string(column)) }
            return date
        }
        guard let status = string(9).flatMap(JobStatus.init(rawValue:)) else { throw corrupt("status", string(9)) }
        guard let timeoutBehavior = string(13).flatMap(TimeoutBehavior.init(rawValue:)) else {
            throw corrupt("timeout_behavior", string(13))
        }
        guard let args = try json(6, what: "args of job \(id)")?.objectValue else { throw corrupt("args", string(6)) }
        return SmrtJob(
            id: id,
            tenantId: string(1),
            queue: string(2) ?? "default",
            objectType: string(3) ?? "",
            objectId: string(4),
            method: string(5) ?? "",
            args: args,
            runAt: try requiredDate(7, "run_at"),
            priority: int(8),
            status: status,
            attempts: int(10),
            maxAttempts: int(11),
            timeout: int(12),
            timeoutBehavior: timeoutBehavior,
            startedAt: date(14),
            completedAt: date(15),
            lastError: string(16),
            resultPointer: string(17),
            result: try json(18, what: "result of job \(id)"),
            retryStrategy: try retryStrategy(19, &strategies),
            workerId: string(20),
            workerHeartbeat: date(21),
            createdAt: try requiredDate(22, "created_at"),
            updatedAt: try requiredDate(23, "updated_at"),
            uniqueKey: string(24),
            progress: storedProgress(25),
            workerPid: isNull(26) ? nil : Int32(truncatingIfNeeded: int64(26)),
            workerExit: string(27))
    }

    /// The progress column (`JobProgress.storedJSON`), or nil when NULL. A value that does not read as progress is
    /// nil too: progress is for people, and must never make a job unreadable (the claim returns these columns).
    private func storedProgress(_ column: Int32) -> JobProgress? {
        withBytes(column) { bytes in
            guard let bytes, let value = JSONParser.parse(bytes) else { return nil }
            return JobProgress(storedJSON: value)
        }
    }

    /// Decodes a row selecting the stores' `scheduleColumns`.
    package func decodeSchedule() throws -> AgentSchedule {
        let id = int64(0)
        func corrupt(_ column: String, _ value: String?) -> SmrtJobsError {
            .database(kind: .fatal, message: "schedule \(id): unreadable \(column) '\(value ?? "NULL")'")
        }
        guard let status = string(8).flatMap(AgentSchedule.Status.init(rawValue:)) else {
            throw corrupt("status", string(8))
        }
        var lastStatus: AgentSchedule.LastStatus?
        if let text = string(11) {
            guard let value = AgentSchedule.LastStatus(rawValue: text) else { throw corrupt("last_status", text) }
            lastStatus = value
        }
        var agentConfig: [String: JSONValue]?
        if let config = try json(4, what: "agent_config of schedule \(id)") {
            guard let members = config.objectValue else { throw corrupt("agent_config", string(4)) }
            agentConfig = members
        }
        guard let methodArgs = try json(20, what: "method_args of schedule \(id)")?.objectValue else {
            throw corrupt("method_args", string(20))
        }
        guard let createdAt = date(21), let updatedAt = date(22) else {
            throw corrupt("created_at/updated_at", string(21))
        }
        return AgentSchedule(
            id: id,
            tenantId: string(1),
            agentType: string(2) ?? "",
            agentId: string(3),
            agentConfig: agentConfig,
            cron: string(5) ?? "",
            timezone: string(6) ?? "UTC",
            enabled: bool(7),
            status: status,
            lastRun: date(9),
            nextRun: date(10),
            lastStatus: lastStatus,
            lastError: string(12),
            runCount: int(13),
            successCount: int(14),
            failureCount: int(15),
            maxConcurrent: int(16),
            runningCount: int(17),
            timeout: int(18),
            method: string(19) ?? "run",
            methodArgs: methodArgs,
            createdAt: createdAt,
            updatedAt: updatedAt)
    }

    /// A JSON column, or nil when NULL. Parsed from the column bytes; `JSONValue.parse` only for odd text.
    @inline(__always)
    package func json(_ column: Int32, what: @autoclosure () -> String) throws -> JSONValue? {
        try withBytes(column) { bytes throws -> JSONValue? in
            guard let bytes else { return nil }
            if let value = JSONParser.parse(bytes) { return value }
            return try JSONValue.parse(String(decoding: bytes, as: UTF8.self), what: what())
        }
    }

    /// The retry strategy column, decoded once per distinct text (cached in `strategies`, at most 256 entries).
    private func retryStrategy(_ column: Int32, _ strategies: inout [String: RetryStrategy]) throws -> RetryStrategy {
        guard let text = string(column) else { return .default }
        if let known = strategies[text] { return known }
        let strategy = try RetryStrategy(jsonValue: json(column, what: "retry_strategy") ?? .null)
        // Bounded: rows with many distinct strategies just decode each time.
        if strategies.count < 256 { strategies[text] = strategy }
        return strategy
    }
}
