import CSQLite
import Foundation
import SmrtJobs

/// `ScheduleStore`: rows of `_smrt_agent_schedules`, and fires made idempotent by `_smrt_schedule_fires`.
extension SQLiteJobStore {
    public func createSchedule(
        _ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?, now: Date
    ) throws -> AgentSchedule {
        try spec.validateFields()
        return try locked { connection in
            try connection.withStatement(
                """
                INSERT INTO _smrt_agent_schedules (tenant_id, agent_type, agent_id, agent_config, cron, timezone, \
                enabled, status, next_run, last_error, max_concurrent, timeout, method, method_args, created_at, \
                updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15) \
                RETURNING \(SQLiteJobStore.scheduleColumns)
                """
            ) { s in
                try s.bind(spec.tenantId, 1)
                try s.bind(spec.agentType, 2)
                try s.bind(spec.agentId, 3)
                try s.bind(spec.agentConfig.map(JSONValue.object), 4)
                try s.bind(spec.cron, 5)
                try s.bind(spec.timezone, 6)
                try s.bind(spec.enabled, 7)
                try s.bind(status.rawValue, 8)
                try s.bind(nextRun, 9)
                try s.bind(lastError, 10)
                try s.bind(spec.maxConcurrent, 11)
                try s.bind(spec.timeout, 12)
                try s.bind(spec.method, 13)
                try s.bind(JSONValue.object(spec.methodArgs), 14)
                try s.bind(now, 15)
                guard try s.step() else {
                    throw SmrtJobsError.database(kind: .other, message: "INSERT of a schedule returned no row")
                }
                return try s.decodeSchedule()
            }
        }
    }

    public func getSchedule(id: Int64) throws -> AgentSchedule? {
        try locked { connection in
            try selectSchedules(
                "SELECT \(SQLiteJobStore.scheduleColumns) FROM _smrt_agent_schedules WHERE id = ?1", connection
            ) { s in try s.bind(id, 1) }.first
        }
    }

    /// By id.
    public func listSchedules() throws -> [AgentSchedule] {
        try locked { connection in
            try selectSchedules(
                "SELECT \(SQLiteJobStore.scheduleColumns) FROM _smrt_agent_schedules ORDER BY id", connection) { _ in }
        }
    }

    public func updateSchedule(
        id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??, now: Date
    ) throws -> AgentSchedule {
        // ?4 / ?6 say whether the double optionals were given, so "set to NULL" differs from "leave alone".
        let updated = try locked { connection in
            try selectSchedules(
                """
                UPDATE _smrt_agent_schedules SET enabled = COALESCE(?2, enabled), status = COALESCE(?3, status), \
                next_run = CASE WHEN ?4 THEN ?5 ELSE next_run END, \
                last_error = CASE WHEN ?6 THEN ?7 ELSE last_error END, updated_at = ?8 \
                WHERE id = ?1 RETURNING \(SQLiteJobStore.scheduleColumns)
                """, connection
            ) { s in
                try s.bind(id, 1)
                try s.bind(enabled, 2)
                try s.bind(status?.rawValue, 3)
                try s.bind(nextRun != nil, 4)
                try s.bind(nextRun ?? nil, 5)
                try s.bind(lastError != nil, 6)
                try s.bind(lastError ?? nil, 7)
                try s.bind(now, 8)
            }.first
        }
        guard let updated else { throw SmrtJobsError.scheduleNotFound(id) }
        return updated
    }

    /// Also forgets the schedule's fires.
    public func deleteSchedule(id: Int64) throws {
        try locked { connection in
            try connection.transaction {
                let deleted = try connection.run("DELETE FROM _smrt_agent_schedules WHERE id = ?1") { s in try s.bind(id, 1) }
                if deleted == 0 { throw SmrtJobsError.scheduleNotFound(id) }
                try connection.run("DELETE FROM _smrt_schedule_fires WHERE schedule_id = ?1") { s in try s.bind(id, 1) }
            }
        }
    }

    /// Ordered by next_run, then id.
    public func dueSchedules(now: Date, limit: Int) throws -> [AgentSchedule] {
        try locked { connection in
            try selectSchedules(
                """
                SELECT \(SQLiteJobStore.scheduleColumns) FROM _smrt_agent_schedules \
                WHERE enabled = 1 AND status = 'active' AND next_run <= ?1 AND running_count < max_concurrent \
                ORDER BY next_run, id LIMIT ?2
                """, connection
            ) { s in
                try s.bind(now, 1)
                try s.bind(limit, 2)
            }
        }
    }

    /// A compare-and-swap on next_run plus a unique (schedule, slot) row, in one IMMEDIATE transaction with the
    /// job's insert: whichever of several schedulers gets there first fires; the others get nil and change nothing.
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
        scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date, _ connection: SQLiteConnection
    ) throws -> Int64? {
        let swapped = try connection.run(
            """
            UPDATE _smrt_agent_schedules SET next_run = ?1, running_count = running_count + 1, updated_at = ?2 \
            WHERE id = ?3 AND next_run = ?4 AND enabled = 1 AND status = 'active'
            """
        ) { s in
            try s.bind(nextRun, 1)
            try s.bind(now, 2)
            try s.bind(scheduleId, 3)
            try s.bind(slot, 4)
        }
        if swapped == 0 { return nil }
        let jobId = try insert(job, now: now, connection).id
        let recorded = try connection.run(
            """
            INSERT INTO _smrt_schedule_fires (schedule_id, slot, job_id, fired_at) VALUES (?1, ?2, ?3, ?4) \
            ON CONFLICT DO NOTHING
            """
        ) { s in
            try s.bind(scheduleId, 1)
            try s.bind(slot, 2)
            try s.bind(jobId, 3)
            try s.bind(now, 4)
        }
        // The slot was fired before (next_run had been moved back onto it): undo the swap and the job.
        if recorded == 0 { throw FireRefused() }
        return jobId
    }

    /// Sets last_error (and updated_at) only. Throws `scheduleNotFound`.
    public func recordFireError(scheduleId: Int64, error: String, now: Date) throws {
        let changed = try locked { connection in
            try connection.run("UPDATE _smrt_agent_schedules SET last_error = ?1, updated_at = ?2 WHERE id = ?3") { s in
                try s.bind(error, 1)
                try s.bind(now, 2)
                try s.bind(scheduleId, 3)
            }
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
        scheduleId: Int64, success: Bool, message: String?, now: Date, _ connection: SQLiteConnection
    ) throws {
        _ = try recordCompletion(scheduleId: scheduleId, success: success, message: message, now: now, connection)
    }

    /// The counters of `handleJobCompletion`, on a connection the caller holds. Returns rows changed.
    private func recordCompletion(
        scheduleId: Int64, success: Bool, message: String?, now: Date, _ connection: SQLiteConnection
    ) throws -> Int {
        try connection.run(
            """
            UPDATE _smrt_agent_schedules SET running_count = MAX(running_count - 1, 0), last_run = ?2, \
            run_count = run_count + 1, success_count = success_count + ?3, failure_count = failure_count + (1 - ?3), \
            last_status = CASE WHEN ?3 THEN 'success' ELSE 'failed' END, \
            last_error = CASE WHEN ?3 THEN NULL ELSE ?4 END, updated_at = ?2 \
            WHERE id = ?1
            """
        ) { s in
            try s.bind(scheduleId, 1)
            try s.bind(now, 2)
            try s.bind(success, 3)
            try s.bind(message, 4)
        }
    }

    func selectSchedules(
        _ sql: String, _ connection: SQLiteConnection, bind: (SQLiteStatement) throws -> Void
    ) throws -> [AgentSchedule] {
        try connection.withStatement(sql) { s in
            try bind(s)
            var schedules: [AgentSchedule] = []
            while try s.step() { schedules.append(try s.decodeSchedule()) }
            return schedules
        }
    }
}

/// Thrown inside `fire`'s transaction to roll it back; never escapes.
private struct FireRefused: Error {}
