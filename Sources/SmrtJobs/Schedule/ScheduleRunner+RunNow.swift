import Foundation

extension ScheduleRunner {
    /// Fires an active schedule now, outside its cron slots ("run now" of the dashboard): moves its next run to
    /// `now` and fires that slot through `ScheduleStore.fire`, the same compare-and-swap the runners use, putting
    /// the next run back where it was (or, if that has passed, on the next cron time). A runner that finds the
    /// schedule due meanwhile fires that slot itself instead; either way one job is enqueued. Returns the job id.
    ///
    /// - Throws: `scheduleNotFound`; `invalidValue` (field `schedule`) for a schedule that is not active and enabled
    ///   (enable or resume it first) or that already runs `maxConcurrent` jobs; what the store throws.
    @discardableResult
    public static func runNow(scheduleId id: Int64, in store: any ScheduleStore, now: Date = Date()) throws -> Int64? {
        guard let schedule = try store.getSchedule(id: id) else { throw SmrtJobsError.scheduleNotFound(id) }
        guard schedule.enabled, schedule.status == .active else {
            throw SmrtJobsError.invalidValue(
                field: "schedule", value: String(id), reason: "it is \(schedule.status.rawValue): enable or resume it first")
        }
        guard schedule.runningCount < max(1, schedule.maxConcurrent) else {
            throw SmrtJobsError.invalidValue(
                field: "schedule", value: String(id),
                reason: "it already runs \(schedule.runningCount) of at most \(schedule.maxConcurrent) jobs")
        }
        // Stored times have millisecond precision: the slot must read back as written.
        let slot = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        var next = schedule.nextRun
        if next.map({ $0 <= slot }) ?? true {
            let cron = try CronExpression(parsing: schedule.cron)
            next = cron.nextDate(after: slot, in: try CronExpression.timeZone(named: schedule.timezone))
        }
        _ = try store.updateSchedule(id: id, enabled: nil, status: nil, nextRun: .some(slot), lastError: nil, now: now)
        let jobId = try store.fire(scheduleId: id, slot: slot, nextRun: next, job: jobSpec(for: schedule), now: now)
        if jobId == nil, try store.getSchedule(id: id)?.nextRun == slot {
            // The slot had been fired before (two clicks in one millisecond): leave no fired slot as the next run.
            _ = try store.updateSchedule(id: id, enabled: nil, status: nil, nextRun: .some(next), lastError: nil, now: now)
        }
        return jobId
    }
}
