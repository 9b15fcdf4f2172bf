import Foundation

extension AgentScheduleSpec {
    /// Checks everything `ScheduleRunner.createSchedule` and the store would reject, without touching a
    /// store: the cron expression, the time zone, an empty type or method, `maxConcurrent` below 1 and a
    /// timeout that is not positive. Lets a tool refuse bad input before it opens (or creates) a database.
    ///
    /// - Throws: `SmrtJobsError.invalidCron`, `.unknownTimeZone` or `.invalidValue`, with the messages the
    ///   store would give.
    public func validate() throws {
        if agentType.isEmpty { throw SmrtJobsError.invalidValue(field: "agentType", value: "", reason: "must not be empty") }
        if method.isEmpty { throw SmrtJobsError.invalidValue(field: "method", value: "", reason: "must not be empty") }
        _ = try CronExpression(parsing: cron)
        _ = try CronExpression.timeZone(named: timezone)
        if maxConcurrent < 1 {
            throw SmrtJobsError.invalidValue(field: "maxConcurrent", value: String(maxConcurrent), reason: "must be at least 1")
        }
        if timeout <= 0 {
            throw SmrtJobsError.invalidValue(
                field: "timeout", value: String(timeout), reason: "must be a positive number of milliseconds")
        }
    }
}
