import Foundation
import SmrtJobs
import Testing

/// Schedules: CRUD, due ones, fires, fire errors, completion counters.
extension StoreConformance {
    static let scheduleChecks: [ConformanceCheck] = [
        ConformanceCheck("scheduleCrud", scheduleCrud),
        ConformanceCheck("dueSchedulesSelectsRunnableOnes", dueSchedulesSelectsRunnableOnes),
        ConformanceCheck("fireIsACompareAndSwap", fireIsACompareAndSwap),
        ConformanceCheck("recordFireErrorKeepsNextRun", recordFireErrorKeepsNextRun),
        ConformanceCheck("handleJobCompletionUpdatesCounters", handleJobCompletionUpdatesCounters),
    ]

    static func scheduleSpec(_ agentType: String = "Reporter", maxConcurrent: Int = 1, enabled: Bool = true) -> AgentScheduleSpec {
        AgentScheduleSpec(
            agentType: agentType, cron: "*/5 * * * *", method: "report", agentId: "r-1", methodArgs: ["depth": 2],
            agentConfig: ["model": "small"], timezone: "Europe/Berlin", maxConcurrent: maxConcurrent, timeout: 60_000,
            enabled: enabled, tenantId: "acme")
    }

    static func scheduleCrud(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let created = try store.createSchedule(scheduleSpec(), nextRun: t0 + 300, status: .active, lastError: nil, now: t0)
            #expect(created.id > 0)
            #expect(created.agentType == "Reporter" && created.agentId == "r-1" && created.tenantId == "acme")
            #expect(created.agentConfig == ["model": "small"] && created.methodArgs == ["depth": 2])
            #expect(created.cron == "*/5 * * * *" && created.timezone == "Europe/Berlin" && created.method == "report")
            #expect(created.enabled && created.status == .active && created.nextRun == t0 + 300)
            #expect(created.maxConcurrent == 1 && created.runningCount == 0 && created.timeout == 60_000)
            #expect(created.runCount == 0 && created.successCount == 0 && created.failureCount == 0)
            #expect(created.lastRun == nil && created.lastStatus == nil && created.lastError == nil)
            #expect(created.createdAt == t0 && created.updatedAt == t0)
            #expect(try store.getSchedule(id: created.id) == created)

            let plain = try store.createSchedule(
                AgentScheduleSpec(agentType: "Static", cron: "bad cron"), nextRun: nil, status: .error,
                lastError: "Invalid cron expression: bad cron", now: t0)
            #expect(plain.agentConfig == nil && plain.agentId == nil && plain.methodArgs == [:])
            #expect(plain.status == .error && plain.lastError == "Invalid cron expression: bad cron" && plain.nextRun == nil)
            #expect(try store.listSchedules().map(\.id) == [created.id, plain.id])

            let paused = try store.updateSchedule(
                id: created.id, enabled: false, status: .paused, nextRun: .some(nil), lastError: .some("why"), now: t0 + 1)
            #expect(!paused.enabled && paused.status == .paused && paused.nextRun == nil && paused.lastError == "why")
            #expect(paused.updatedAt == t0 + 1)
            let untouched = try store.updateSchedule(
                id: created.id, enabled: nil, status: nil, nextRun: nil, lastError: nil, now: t0 + 2)
            #expect(!untouched.enabled && untouched.status == .paused && untouched.lastError == "why")
            let resumed = try store.updateSchedule(
                id: created.id, enabled: true, status: .active, nextRun: .some(t0 + 600), lastError: .some(nil), now: t0 + 3)
            #expect(resumed.enabled && resumed.status == .active && resumed.nextRun == t0 + 600 && resumed.lastError == nil)
            #expect(try store.getSchedule(id: created.id) == resumed)

            #expect(throws: SmrtJobsError.scheduleNotFound(999)) {
                try store.updateSchedule(id: 999, enabled: true, status: nil, nextRun: nil, lastError: nil, now: t0)
            }
            try store.deleteSchedule(id: plain.id)
            #expect(try store.getSchedule(id: plain.id) == nil)
            #expect(throws: SmrtJobsError.scheduleNotFound(plain.id)) { try store.deleteSchedule(id: plain.id) }
            #expect(try store.listSchedules().map(\.id) == [created.id])
        }
    }

    static func dueSchedulesSelectsRunnableOnes(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let late = try store.createSchedule(scheduleSpec("Late"), nextRun: t0 - 60, status: .active, lastError: nil, now: t0)
            let now = try store.createSchedule(scheduleSpec("Now"), nextRun: t0, status: .active, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Future"), nextRun: t0 + 1, status: .active, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Off", enabled: false), nextRun: t0 - 60, status: .active, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Paused"), nextRun: t0 - 60, status: .paused, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Broken"), nextRun: nil, status: .error, lastError: "x", now: t0)
            let busy = try store.createSchedule(scheduleSpec("Busy"), nextRun: t0 - 120, status: .active, lastError: nil, now: t0)
            let wide = try store.createSchedule(
                scheduleSpec("Wide", maxConcurrent: 2), nextRun: t0 - 30, status: .active, lastError: nil, now: t0)

            #expect(try store.dueSchedules(now: t0, limit: 50).map(\.id) == [busy.id, late.id, wide.id, now.id])
            _ = try store.fire(scheduleId: busy.id, slot: t0 - 120, nextRun: t0 - 1, job: spec(), now: t0)
            _ = try store.fire(scheduleId: wide.id, slot: t0 - 30, nextRun: t0 - 1, job: spec(), now: t0)
            // Busy is at max_concurrent; Wide (max 2) is still due at its new next_run.
            #expect(try store.dueSchedules(now: t0, limit: 50).map(\.id) == [late.id, wide.id, now.id])
            #expect(try store.dueSchedules(now: t0, limit: 2).map(\.id) == [late.id, wide.id])
        }
    }

    static func fireIsACompareAndSwap(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let schedule = try store.createSchedule(scheduleSpec(), nextRun: t0, status: .active, lastError: nil, now: t0)
            var job = JobSpec(objectType: "Reporter", method: "report", objectId: "r-1", queue: "agents", priority: 75)
            job.args = ["depth": 2, "_scheduleId": .int(schedule.id)]
            let jobId = try #require(try store.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 300, job: job, now: t0 + 1))
            let fired = try #require(try store.get(id: jobId))
            #expect(fired.queue == "agents" && fired.priority == 75 && fired.scheduleId == schedule.id)
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.nextRun == t0 + 300 && after.runningCount == 1)

            // A second scheduler (another connection) trying the same slot gets nil and writes nothing.
            let peer = try openPeer()
            #expect(try peer.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 300, job: job, now: t0 + 2) == nil)
            #expect(try store.stats(queue: nil).pending == 1)
            #expect(try store.getSchedule(id: schedule.id)?.runningCount == 1)

            // Even with next_run moved back onto the fired slot, the slot does not fire twice.
            _ = try store.updateSchedule(id: schedule.id, enabled: nil, status: nil, nextRun: .some(t0), lastError: nil, now: t0 + 3)
            #expect(try store.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 300, job: job, now: t0 + 4) == nil)
            let unchanged = try #require(try store.getSchedule(id: schedule.id))
            #expect(unchanged.nextRun == t0 && unchanged.runningCount == 1)
            #expect(try store.list(JobQuery()).map(\.id) == [jobId])

            // Disabled or missing schedules do not fire.
            _ = try store.updateSchedule(id: schedule.id, enabled: false, status: nil, nextRun: .some(t0 + 300), lastError: nil, now: t0 + 5)
            #expect(try store.fire(scheduleId: schedule.id, slot: t0 + 300, nextRun: t0 + 600, job: job, now: t0 + 300) == nil)
            #expect(try store.fire(scheduleId: 999, slot: t0, nextRun: nil, job: job, now: t0) == nil)
            // An invalid job is an error, not a silent skip, and changes nothing.
            _ = try store.updateSchedule(id: schedule.id, enabled: true, status: nil, nextRun: nil, lastError: nil, now: t0 + 6)
            #expect(throws: SmrtJobsError.self) {
                try store.fire(scheduleId: schedule.id, slot: t0 + 300, nextRun: t0 + 600, job: spec(method: ""), now: t0 + 300)
            }
            #expect(try store.getSchedule(id: schedule.id)?.nextRun == t0 + 300)
            // The next slot fires normally.
            #expect(try store.fire(scheduleId: schedule.id, slot: t0 + 300, nextRun: nil, job: job, now: t0 + 300) != nil)
            #expect(try store.getSchedule(id: schedule.id)?.runningCount == 2)
        }
    }

    static func recordFireErrorKeepsNextRun(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let schedule = try store.createSchedule(scheduleSpec(), nextRun: t0, status: .active, lastError: nil, now: t0)
            try store.recordFireError(scheduleId: schedule.id, error: "Unknown object type: Reporter", now: t0 + 1)
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.lastError == "Unknown object type: Reporter")
            #expect(after.nextRun == t0 && after.status == .active && after.runningCount == 0)
        }
    }

    static func handleJobCompletionUpdatesCounters(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let schedule = try store.createSchedule(
                scheduleSpec(maxConcurrent: 3), nextRun: t0, status: .active, lastError: nil, now: t0)
            _ = try store.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 60, job: spec(), now: t0)
            _ = try store.fire(scheduleId: schedule.id, slot: t0 + 60, nextRun: t0 + 120, job: spec(), now: t0 + 60)
            try store.handleJobCompletion(scheduleId: schedule.id, success: false, message: "boom", now: t0 + 70)
            var s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 1 && s.runCount == 1 && s.failureCount == 1 && s.successCount == 0)
            #expect(s.lastStatus == .failed && s.lastError == "boom" && s.lastRun == t0 + 70)
            try store.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil, now: t0 + 80)
            s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 0 && s.runCount == 2 && s.failureCount == 1 && s.successCount == 1)
            #expect(s.lastStatus == .success && s.lastError == nil && s.lastRun == t0 + 80)
            try store.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil, now: t0 + 90)
            #expect(try store.getSchedule(id: schedule.id)?.runningCount == 0)
        }
    }
}
