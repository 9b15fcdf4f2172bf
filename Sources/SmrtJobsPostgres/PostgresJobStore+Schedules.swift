import Foundation
import SmrtJobs

/// `ScheduleStore`: rows of `_smrt_agent_schedules`, and fires made idempotent by `_smrt_schedule_fires`.
extension PostgresJobStore {
    public func createSchedule(
        _ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?, now: Date
    ) throws -> AgentSchedule {
        try spec.validateFields()
        return try locked { connection in
            let created = try selectSchedules(
                connection,
                """
                INSERT INTO _smrt_agent_schedules (tenant_id, agent_type, agent_id, agent_config, cron, timezone, \
                enabled, status, next_run, last_error, max_concurrent, timeout, method, method_args, created_at, \
                updated_at) VALUES ($1::text, $2::text, $3::text, $4::jsonb, $5::text, $6::text, $7::boolean, $8::text, \
                $9::timestamptz, $10::text, $11::integer, $12::bigint, $13::text, $14::jsonb, $15::timestamptz, \
                $15::timestamptz) RETURNING \(Self.scheduleColumns)
                """,
                [
                    spec.tenantId, spec.agentType, spec.agentId, Self.text(spec.agentConfig.map(JSONValue.object)), spec.cron,
                    spec.timezone, Self.text(spec.enabled), status.rawValue, Self.text(nextRun), lastError,
                    Self.text(spec.maxConcurrent), Self.text(spec.timeout), spec.method,
                    Self.text(JSONValue.object(spec.methodArgs)), Self.text(now),
                ])
            guard let schedule = created.first else {
                throw SmrtJobsError.database(kind: .other, message: "INSERT of a schedule returned no row")
            }
            return schedule
        }
    }

    public func getSchedule(id: Int64) throws -> AgentSchedule? {
        try locked { connection in
            try selectSchedules(
                connection, "SELECT \(Self.scheduleColumns) FROM _smrt_agent_schedules WHERE id = $1::bigint", [Self.text(id)]
            ).first
        }
    }

    /// By id.
    public func listSchedules() throws -> [AgentSchedule] {
        try locked { connection in
            try selectSchedules(connection, "SELECT \(Self.scheduleColumns) FROM _smrt_agent_schedules ORDER BY id", [])
        }
    }

    public func updateSchedule(
        id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??, now: Date
    ) throws -> AgentSchedule {
        // $4 / $6 say whether the double optionals were given, so "set to NULL" differs from "leave alone".
        let updated = try locked { connection in
            try selectSchedules(
                connection,
                """
                UPDATE _smrt_agent_schedules SET enabled = COALESCE($2::boolean, enabled), status = COALESCE($3::text, status), \
                next_run = CASE WHEN $4::boolean THEN $5::timestamptz ELSE next_run END, \
                last_error = CASE WHEN $6::boolean THEN $7::text ELSE last_error END, updated_at = $8::timestamptz \
                WHERE id = $1::bigint RETURNING \(Self.scheduleColumns)
                """,
                [
                    Self.text(id), Self.text(enabled), status?.rawValue, Self.text(nextRun != nil), Self.text(nextRun ?? nil),
                    Self.text(lastError != nil), lastError ?? nil, Self.text(now),
                ]
            ).first
        }
        guard let updated else { throw SmrtJobsError.scheduleNotFound(id) }
        return updated
    }

    /// Also forgets the schedule's fires.
    public func deleteSchedule(id: Int64) throws {
        try locked { connection in
            try connection.transaction {
                let deleted = try connection.query("DELETE FROM _smrt_agent_schedules WHERE id = $1::bigint", [Self.text(id)])
                if deleted.affectedRows == 0 { throw SmrtJobsError.scheduleNotFound(id) }
                try connection.query("DELETE FROM _smrt_schedule_fires WHERE schedule_id = $1::bigint", [Self.text(id)])
            }
        }
    }

    /// Ordered by next_run, then id.
    public func dueSchedules(now: Date, limit: Int) throws -> [AgentSchedule] {
        try locked { connection in
            try selectSchedules(
                connection,
                """
                SELECT \(Self.scheduleColumns) FROM _smrt_agent_schedules \
                WHERE enabled AND status = 'active' AND next_run <= $1::timestamptz AND running_count < max_concurrent \
                ORDER BY next_run, id LIMIT $2::bigint
                """, [Self.text(now), Self.text(limit)])
        }
    }

    /// A compare-and-swap on next_run plus a unique (schedule, slot) row, in one transaction with the job's
    /// insert: whichever of several schedulers (on any host) gets there first fires; the others wait for its
    /// row lock, find next_run moved, and get nil having changed nothing.
    public func fire(scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date) throws -> Int64? {
        try job.validate()
        return try locked { connection in
            do {
                return try connection.transaction {
                    try fireInTransaction(scheduleId: scheduleId, slot: slot, nextRun: nextRun, job: job, now: now, connection)
                }
            } catch is FireRefused {
                return nil
            }
        }
    }

    private func fireInTransaction(
        scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date, _ connection: PostgresConnection
    ) throws -> Int64? {
        let swapped = try connection.query(
            """
            UPDATE _smrt_agent_schedules SET next_run = $1::timestamptz, running_count = running_count + 1, \
            updated_at = $2::timestamptz WHERE id = $3::bigint AND next_run = $4::timestamptz AND enabled \
            AND status = 'active'
            """, [Self.text(nextRun), Self.text(now), Self.text(scheduleId), Self.text(slot)]
        ).affectedRows
        if swapped == 0 { return nil }
        let jobId = try insert(job, now: now, connection).id
        let recorded = try connection.query(
            """
            INSERT INTO _smrt_schedule_fires (schedule_id, slot, job_id, fired_at) \
            VALUES ($1::bigint, $2::timestamptz, $3::bigint, $4::timestamptz) ON CONFLICT DO NOTHING
            """, [Self.text(scheduleId), Self.text(slot), Self.text(jobId), Self.text(now)]
        ).affectedRows
        // The slot was fired before (next_run had been moved back onto it): undo the swap and the job.
        if recorded == 0 { throw FireRefused() }
        try notify(connection)
        return jobId
    }

    /// Sets last_error (and updated_at) only. Throws `scheduleNotFound`.
    public func recordFireError(scheduleId: Int64, error: String, now: Date) throws {
        let changed = try locked { connection in
            try connection.query(
                "UPDATE _smrt_agent_schedules SET last_error = $1::text, updated_at = $2::timestamptz WHERE id = $3::bigint",
                [error, Self.text(now), Self.text(scheduleId)]
            ).affectedRows
        }
        if changed == 0 { throw SmrtJobsError.scheduleNotFound(scheduleId) }
    }

    /// On success last_error is cleared; on failure it becomes `message`. Throws `scheduleNotFound` (the
    /// schedule was deleted while its job ran), which callers may ignore.
    public func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date) throws {
        let changed = try locked { connection in
            try recordCompletion(scheduleId: scheduleId, success: success, message: message, now: now, connection)
        }
        if changed == 0 { throw SmrtJobsError.scheduleNotFound(scheduleId) }
    }

    /// Counts the end of a job on the schedule that fired it, inside the transaction that ended the job: the one
    /// place `finish`, `cancel` and recovery keep a schedule's counters. A schedule deleted while its job ran
    /// has nothing to count.
    func countScheduleRun(
        scheduleId: Int64, success: Bool, message: String?, now: Date, _ connection: PostgresConnection
    ) throws {
        _ = try recordCompletion(scheduleId: scheduleId, success: success, message: message, now: now, connection)
    }

    /// The counters of `handleJobCompletion`, on a connection the caller holds. Returns rows changed.
    private func recordCompletion(
        scheduleId: Int64, success: Bool, message: String?, now: Date, _ connection: PostgresConnection
    ) throws -> Int {
        try connection.query(
            """
            UPDATE _smrt_agent_schedules SET running_count = GREATEST(running_count - 1, 0), last_run = $2::timestamptz, \
            run_count = run_count + 1, success_count = success_count + CASE WHEN $3::boolean THEN 1 ELSE 0 END, \
            failure_count = failure_count + CASE WHEN $3::boolean THEN 0 ELSE 1 END, \
            last_status = CASE WHEN $3::boolean THEN 'success' ELSE 'failed' END, \
            last_error = CASE WHEN $3::boolean THEN NULL ELSE $4::text END, updated_at = $2::timestamptz \
            WHERE id = $1::bigint
            """, [Self.text(scheduleId), Self.text(now), Self.text(success), message]
        ).affectedRows
    }
}

/// Thrown inside `fire`'s transaction to roll it back; never escapes.
private struct FireRefused: Error {}
