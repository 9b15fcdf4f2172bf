import Foundation
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// Every event a schedule runner emitted, in order, and on which thread.
final class ScheduleEventLog: Sendable {
    let events = Locked<[(event: ScheduleRunnerEvent, thread: String)]>([])

    func append(_ event: ScheduleRunnerEvent) {
        let thread = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
        events.withLock { $0.append((event, thread.trimmingCharacters(in: .whitespacesAndNewlines))) }
    }

    var names: [String] { events.withLock { $0.map(\.event.testName) } }
    var all: [(event: ScheduleRunnerEvent, thread: String)] { events.withLock { $0 } }
}

extension ScheduleRunnerEvent {
    var testName: String {
        switch self {
        case .runnerStarted: return "started"
        case .runnerStopped: return "stopped"
        case .runnerError: return "error"
        case .scheduleFired: return "fired"
        case .scheduleFailed: return "failed"
        case .jobCompletionRecorded: return "completion"
        }
    }
}

/// `ScheduleRunner.start()` / `stop()` / `run()`, its events, and what it records when a job ends.
@Suite struct ScheduleRunnerLifecycleTests {
    /// A store on a fresh database, and a schedule created two minutes before now (its first slot is due).
    private func withSchedule(
        cron: String = "* * * * *", _ body: (SQLiteJobStore, AgentSchedule) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteJobStore(path: directory.path("jobs.sqlite"))
        let schedule = try ScheduleRunner.createSchedule(
            AgentScheduleSpec(agentType: "Report", cron: cron), in: store, now: Date().addingTimeInterval(-120))
        try await body(store, schedule)
    }

    private func eventually(
        _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while try !condition() {
            if ContinuousClock.now >= deadline {
                Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func startFiresDueSchedulesOnItsOwnThreadAndStopEndsTheEvents() async throws {
        try await withSchedule { store, schedule in
            let runner = ScheduleRunner(store: store)
            let log = ScheduleEventLog()
            runner.on { log.append($0) }
            let stream = runner.events
            #expect(!runner.isRunning)
            try await runner.start(pollInterval: .milliseconds(20))
            #expect(runner.isRunning)
            try await eventually("the due schedule fired") { log.names.contains("fired") }
            let fired = try #require(log.all.first { $0.event.testName == "fired" }?.event)
            guard case .scheduleFired(let fire) = fired else { return }
            #expect(fire.scheduleId == schedule.id)
            let jobId = try #require(fire.jobId)
            let job = try #require(try store.get(id: jobId))
            #expect(job.queue == ScheduleRunner.queue && job.scheduleId == schedule.id)
            // The store calls ran on the runner's thread, not the cooperative pool.
            #expect(log.all.first { $0.event.testName == "fired" }?.thread == "smrt-schedules")

            await runner.stop()
            #expect(!runner.isRunning)
            #expect(log.names.first == "started" && log.names.last == "stopped")
            var streamed: [String] = []
            for await event in stream { streamed.append(event.testName) }  // ends after runnerStopped
            #expect(streamed == log.names)
            // After stop: no more polls (nothing else fires), and streams end at once.
            var late: [ScheduleRunnerEvent] = []
            for await event in runner.events { late.append(event) }
            #expect(late.isEmpty)
            await runner.stop()
        }
    }

    @Test func aRunnerRunsOnceAndRejectsABadPollInterval() async throws {
        try await withSchedule { store, _ in
            let runner = ScheduleRunner(store: store)
            await #expect(throws: SmrtJobsError.self) { try await runner.start(pollInterval: .zero) }
            #expect(!runner.isRunning)
            try await runner.start(pollInterval: .seconds(60))
            await #expect(throws: SmrtJobsError.self) { try await runner.start() }
            await runner.stop()
            await #expect(throws: SmrtJobsError.self) { try await runner.start() }
        }
    }

    @Test func runReturnsWhenItsTaskIsCancelled() async throws {
        try await withSchedule { store, _ in
            let runner = ScheduleRunner(store: store)
            let running = Task { try await runner.run(pollInterval: .seconds(60)) }
            try await eventually("started") { runner.isRunning }
            running.cancel()
            try await running.value
            #expect(!runner.isRunning)
        }
    }

    @Test func aScheduleThatCannotFireReportsScheduleFailed() async throws {
        try await withSchedule { store, _ in
            // Written past the validation of createSchedule, as an older version or another tool might have.
            let broken = try store.createSchedule(
                AgentScheduleSpec(agentType: "Report", cron: "61 * * * *"), nextRun: Date().addingTimeInterval(-60),
                status: .active, lastError: nil, now: Date())
            let runner = ScheduleRunner(store: store)
            let log = ScheduleEventLog()
            runner.on { log.append($0) }
            let fires = try runner.runDue()
            #expect(fires.contains { $0.scheduleId == broken.id && $0.error != nil })
            #expect(log.names.sorted() == ["failed", "fired"])
            #expect(try store.getSchedule(id: broken.id)?.status == .error)
        }
    }

    @Test func aFailureWithoutAMessageIsRecordedAsUnknownError() async throws {
        try await withSchedule { store, schedule in
            let runner = ScheduleRunner(store: store)
            let log = ScheduleEventLog()
            let handler = runner.on { log.append($0) }
            try runner.handleJobCompletion(scheduleId: schedule.id, success: false, message: nil)
            var after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.lastStatus == .failed && after.lastError == "Unknown error" && after.failureCount == 1)
            let recorded = try #require(log.all.first?.event)
            guard case .jobCompletionRecorded(let id, let success, let message) = recorded else {
                Issue.record("expected jobCompletionRecorded, got \(log.names)")
                return
            }
            #expect(id == schedule.id && !success && message == "Unknown error")

            runner.removeHandler(handler)
            try runner.handleJobCompletion(scheduleId: schedule.id, success: false, message: "postgres://svc:topsecret@db/app down")
            after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.lastError == "postgres://svc:[REDACTED]@db/app down")
            try runner.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil)
            after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.lastStatus == .success && after.lastError == nil && after.successCount == 1)
            #expect(log.all.count == 1, "a removed handler hears nothing")
        }
    }
}
