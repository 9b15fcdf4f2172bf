import Foundation
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

@Suite struct ScheduleRunnerTests {
    let t0 = Timestamp.parse("2026-11-29T10:00:30.000Z")!

    private func withRunner(_ body: (ScheduleRunner, SQLiteJobStore, () throws -> SQLiteJobStore) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try {
            let store = try SQLiteJobStore(path: directory.path("jobs.sqlite"))
            try body(ScheduleRunner(store: store), store, { try SQLiteJobStore(path: directory.path("jobs.sqlite")) })
        }()
    }

    @Test func createComputesTheFirstRunForward() throws {
        try withRunner { _, store, _ throws in
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "Report", cron: "*/5 * * * *"), in: store, now: t0)
            #expect(schedule.nextRun == Timestamp.parse("2026-11-29T10:05:00.000Z"))
            #expect(schedule.status == .active)
        }
    }

    @Test func createRejectsBadCronAndZoneAndWritesNothing() throws {
        try withRunner { _, store, _ throws in
            #expect(throws: SmrtJobsError.self) {
                try ScheduleRunner.createSchedule(AgentScheduleSpec(agentType: "R", cron: "61 * * * *"), in: store, now: t0)
            }
            #expect(throws: SmrtJobsError.unknownTimeZone("Mars/Olympus")) {
                try ScheduleRunner.createSchedule(
                    AgentScheduleSpec(agentType: "R", cron: "* * * * *", timezone: "Mars/Olympus"), in: store, now: t0)
            }
            #expect(try store.listSchedules().isEmpty)
        }
    }

    @Test func firesDueSchedulesOnceForwardIntoTheAgentsQueue() throws {
        try withRunner { runner, store, _ throws in
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "Report", cron: "0 * * * *", method: "build", methodArgs: ["k": "v"],
                                  agentConfig: ["model": "m"], timeout: 9000),
                in: store, now: t0)
            // Nothing is due before the slot.
            #expect(try runner.runDue(now: t0).isEmpty)
            // Three hours late: one fire, next run computed forward from now (missed slots not replayed).
            let late = Timestamp.parse("2026-11-29T13:20:00.000Z")!
            let fires = try runner.runDue(now: late)
            #expect(fires.count == 1)
            let jobId = try #require(fires.first?.jobId)
            let job = try #require(try store.get(id: jobId))
            #expect(job.queue == "agents")
            #expect(job.priority == 75)
            #expect(job.maxAttempts == 3)
            #expect(job.timeout == 9000)
            #expect(job.objectType == "Report" && job.method == "build")
            #expect(job.args == ["k": "v", "_scheduleId": .int(schedule.id), "_agentConfig": ["model": "m"]])
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.nextRun == Timestamp.parse("2026-11-29T14:00:00.000Z"))
            #expect(after.runningCount == 1)
            // max_concurrent 1: while the job runs, the next slot does not fire.
            #expect(try runner.runDue(now: Timestamp.parse("2026-11-29T14:00:01.000Z")!).isEmpty)
        }
    }

    @Test func twoRunnersNeverFireTheSameSlotTwice() throws {
        try withRunner { first, store, openPeer throws in
            let peer = try openPeer()
            let second = ScheduleRunner(store: peer)
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "R", cron: "* * * * *", maxConcurrent: 10), in: store, now: t0)
            let now = t0.addingTimeInterval(40)
            // The second runner read the schedule as due before the first one fired it.
            let stale = try peer.dueSchedules(now: now, limit: 50)
            #expect(stale.map(\.id) == [schedule.id])
            let fired = try first.runDue(now: now)
            #expect(fired.first?.jobId != nil)
            let again = try second.runDue(now: now)
            #expect(again.allSatisfy { $0.jobId == nil })
            #expect(try store.stats(queue: "agents").pending == 1)
        }
    }

    @Test func invalidStoredCronPutsTheScheduleInError() throws {
        try withRunner { runner, store, _ throws in
            let schedule = try store.createSchedule(
                AgentScheduleSpec(agentType: "R", cron: "61 * * * *"), nextRun: t0, status: .active, lastError: nil, now: t0)
            let fires = try runner.runDue(now: t0)
            #expect(fires.first?.error?.hasPrefix("Invalid cron expression: 61 * * * *") == true)
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.status == .error)
            #expect(after.lastError?.hasPrefix("Invalid cron expression: 61 * * * *") == true)
            #expect(try store.stats(queue: nil) == JobStats())
        }
    }

    @Test func completionUpdatesCounters() throws {
        try withRunner { runner, store, _ throws in
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "R", cron: "* * * * *"), in: store, now: t0)
            _ = try runner.runDue(now: t0.addingTimeInterval(60))
            try runner.handleJobCompletion(scheduleId: schedule.id, success: false, message: "boom", now: t0.addingTimeInterval(61))
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.runningCount == 0)
            #expect(after.runCount == 1)
            #expect(after.failureCount == 1)
            #expect(after.lastStatus == .failed)
            #expect(after.lastError == "boom")
        }
    }

    @Test func pauseAndResumeRecomputeTheNextRunForward() throws {
        try withRunner { runner, store, _ throws in
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "R", cron: "0 * * * *"), in: store, now: t0)
            try ScheduleRunner.apply(.pause, toSchedule: schedule.id, in: store, now: t0)
            let later = Timestamp.parse("2026-11-29T15:30:00.000Z")!
            #expect(try runner.runDue(now: later).isEmpty)
            let resumed = try ScheduleRunner.apply(.resume, toSchedule: schedule.id, in: store, now: later)
            #expect(resumed.status == .active)
            #expect(resumed.nextRun == Timestamp.parse("2026-11-29T16:00:00.000Z"))
            let disabled = try ScheduleRunner.apply(.disable, toSchedule: schedule.id, in: store, now: later)
            #expect(!disabled.enabled && disabled.status == .disabled)
            #expect(throws: SmrtJobsError.scheduleNotFound(999)) {
                try ScheduleRunner.apply(.enable, toSchedule: 999, in: store, now: later)
            }
        }
    }

    @Test func cancellingAFiredJobFreesTheSchedulesSlot() throws {
        try withRunner { runner, store, _ throws in
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "R", cron: "* * * * *"), in: store, now: t0)
            let first = try #require(try runner.runDue(now: t0.addingTimeInterval(60)).first?.jobId)
            _ = try store.cancel(id: first, now: t0.addingTimeInterval(61))
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.runningCount == 0)
            #expect(after.lastStatus == .failed && after.lastError == "cancelled")
            // max_concurrent 1 no longer blocks the next slot.
            #expect(try runner.runDue(now: t0.addingTimeInterval(120)).first?.jobId != nil)
        }
    }
}
