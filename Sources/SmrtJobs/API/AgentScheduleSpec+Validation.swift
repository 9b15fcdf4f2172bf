import Foundation

extension AgentScheduleSpec {
    /// Checks everything `ScheduleRunner.createSchedule` and the store would reject, without touching a
    /// store: the cron expression (also one that never fires after `now`, such as `0 0 31 2 *`), the time
    /// zone, an empty type or method, `maxConcurrent` below 1, a timeout that is not positive, and args (with
    /// the config) too large for the jobs it fires. Lets a tool refuse bad input before it opens (or
    /// creates) a database.
    ///
    /// - Throws: `SmrtJobsError.invalidCron`, `.unknownTimeZone`, `.invalidValue` or `.argsTooLarge`, with the
    ///   messages the store would give.
    public func validate(now: Date = Date()) throws {
        if agentType.isEmpty { throw SmrtJobsError.invalidValue(field: "agentType", value: "", reason: "must not be empty") }
        if method.isEmpty { throw SmrtJobsError.invalidValue(field: "method", value: "", reason: "must not be empty") }
        let expression = try CronExpression(parsing: cron)
        let zone = try CronExpression.timeZone(named: timezone)
        if expression.nextDate(after: now, in: zone) == nil { throw CronExpression.neverFires(cron, after: now) }
        try validateJobSize()
        try validateFields()
    }

    /// The checks every store makes before it writes a schedule: a type and a method, `maxConcurrent` of at
    /// least 1, a positive timeout.
    package func validateFields() throws {
        if agentType.isEmpty { throw SmrtJobsError.invalidValue(field: "agentType", value: "", reason: "must not be empty") }
        if method.isEmpty { throw SmrtJobsError.invalidValue(field: "method", value: "", reason: "must not be empty") }
        if maxConcurrent < 1 {
            throw SmrtJobsError.invalidValue(field: "maxConcurrent", value: String(maxConcurrent), reason: "must be at least 1")
        }
        if timeout <= 0 {
            throw SmrtJobsError.invalidValue(
                field: "timeout", value: String(timeout), reason: "must be a positive number of milliseconds")
        }
    }

    /// Throws `argsTooLarge` when the jobs this schedule fires (its args, `_scheduleId` and `_agentConfig`)
    /// would not fit the message a worker receives.
    func validateJobSize() throws {
        var args = methodArgs
        args[ReservedArgs.scheduleId] = .int(.max)
        if let agentConfig { args[ReservedArgs.agentConfig] = .object(agentConfig) }
        try JobSpec(objectType: agentType, method: method, objectId: agentId, args: args).validateSize()
    }
}
