import Foundation
import Testing
@testable import SmrtJobs

/// `TaskRunner.isRunning`, and what the runner stores and reports of errors that hold a secret.
@Suite struct TaskRunnerStatusTests {
    @Test func isRunningFromStartUntilStop() async throws {
        try await RunnerFixture.run { f in
            let runner = f.makeRunner()
            #expect(!runner.isRunning)
            try await runner.start()
            #expect(runner.isRunning)
            await runner.stop()
            #expect(!runner.isRunning)
        }
    }

    /// Schedule fires are store calls of the runner: they run on its store thread. The fired job's completion is
    /// counted on its schedule by the store, inside the write that completes the job.
    @Test func scheduleStoreCallsRunOnTheRunnersThread() async throws {
        try await RunnerFixture.run { f in
            let scheduleRunner = ScheduleRunner(store: f.store)
            let log = ScheduleEventLog()
            scheduleRunner.on { log.append($0) }
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "Work", cron: "* * * * *", method: "record", methodArgs: ["label": "cron"]),
                in: f.store, now: Date().addingTimeInterval(-120))
            let runner = f.makeRunner(RunnerFixture.options(scheduleRunner: scheduleRunner))
            try await runner.start()
            try await f.eventually("the fired job counted on its schedule") {
                (try? f.store.getSchedule(id: schedule.id)?.successCount ?? 0) ?? 0 >= 1
            }
            #expect(!log.names.isEmpty && log.names.allSatisfy { $0 == "fired" })
            #expect(log.all.allSatisfy { $0.thread == "smrt-runner" })
        }
    }

    @Test func aURLPasswordInAnErrorIsNeitherStoredNorReported() async throws {
        try await RunnerFixture.run { f in
            f.registry.register(RunnerWork.self, as: "Leaky", construct: { RunnerWork(probe: f.probe, config: $0) })
                .method("connect") { (_: RunnerWork, _: NoArgs) async throws -> Void in
                    throw RunnerMessageError(message: "cannot reach postgres://svc:topsecret@db/app")
                }
            let job = try f.enqueue("connect", objectType: "Leaky", maxAttempts: 1)
            let runner = f.makeRunner()
            try await runner.start()
            // The event comes after the write: waiting for it sees both.
            try await f.eventually("jobFailed emitted") { f.log.names.contains("failed") }
            #expect(try f.job(job.id).lastError == "cannot reach postgres://svc:[REDACTED]@db/app")
            let reported = f.log.all.compactMap { event -> String? in
                if case .jobFailed(_, let error) = event { return error }
                return nil
            }
            #expect(reported == ["cannot reach postgres://svc:[REDACTED]@db/app"])
        }
    }
}

struct RunnerMessageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
