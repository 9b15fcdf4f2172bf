import Foundation
import Testing
@testable import SmrtJobs

/// Claiming, executing and reporting: results, concurrency, priority, retries, events.
@Suite struct TaskRunnerTests {
    @Test func completesJobsAndStoresResults() async throws {
        try await RunnerFixture.run { f in
            let runner = f.makeRunner()
            try await runner.start()
            let queue = try await f.makeQueue()
            let handle = try await queue.background("Work", "add", args: ["a": 2, "b": 40]).enqueue()
            runner.notify()
            let outcome = try await handle.wait(timeout: .seconds(30))
            #expect(outcome.success)
            #expect(try outcome.decodeResult(Int.self) == 42)
            let job = try f.job(handle.id)
            #expect(job.status == .completed && job.attempts == 1 && job.workerId == runner.workerId)
            #expect(job.result == .int(42))
        }
    }

    @Test func honoursTheConcurrencyLimit() async throws {
        try await RunnerFixture.run { f in
            let ids = try (0..<12).map { _ in try f.enqueue("sleep", args: ["ms": 30]).id }
            let runner = f.makeRunner(RunnerFixture.options(concurrency: 3))
            try await runner.start()
            try await f.eventually("all 12 completed") { try f.store.stats(queue: nil).completed == 12 }
            #expect(f.probe.snapshot.maxRunning == 3)
            #expect(f.probe.snapshot.started == 12)
            for id in ids { #expect(try f.job(id).attempts == 1) }
        }
    }

    @Test func runsHigherPriorityFirst() async throws {
        try await RunnerFixture.run { f in
            for priority in [10, 90, 50, 75, 50] {
                try f.enqueue("record", args: ["label": .string("p\(priority)")], priority: priority)
            }
            let runner = f.makeRunner(RunnerFixture.options(concurrency: 1))
            try await runner.start()
            try await f.eventually("all 5 completed") { try f.store.stats(queue: nil).completed == 5 }
            #expect(f.probe.snapshot.labels == ["p90", "p75", "p50", "p50", "p10"])
        }
    }

    @Test func slotsFreedAndNotifyWakeTheLoopWithoutWaitingForThePoll() async throws {
        try await RunnerFixture.run { f in
            for _ in 0..<3 { try f.enqueue("sleep", args: ["ms": 1]) }
            // A poll interval far beyond the test's deadline: only wake-ups can make progress.
            let runner = f.makeRunner(RunnerFixture.options(concurrency: 1, pollInterval: .seconds(60)))
            try await runner.start()
            try await f.eventually("3 completed one after another") {
                try f.store.stats(queue: nil).completed == 3
            }
            let late = try f.enqueue("add", args: ["a": 1, "b": 1])
            runner.notify()
            try await f.eventually("notified job completed") { try f.job(late.id).status == .completed }
        }
    }

    @Test func retriesAFailingJobUnderItsStrategyThenFailsIt() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("flaky", maxAttempts: 3, retryStrategy: .linear(delay: 10))
            let runner = f.makeRunner(RunnerFixture.options(pollInterval: .milliseconds(10)))
            try await runner.start()
            try await f.waitFor(job.id, .failed)
            try await f.eventually("jobFailed emitted") { f.log.names.contains("failed") }
            let failed = try f.job(job.id)
            #expect(failed.attempts == 3)
            #expect(failed.lastError == "flaky failure")
            #expect(failed.completedAt != nil)
            let names = f.log.names.filter { $0 != "runnerStarted" }
            #expect(names == ["started", "retrying", "started", "retrying", "started", "failed"])
            for event in f.log.all {
                if case .jobRetrying(let j, let error, let delayMs) = event {
                    #expect(j.id == job.id && error == "flaky failure" && delayMs == 10 && j.status == .pending)
                }
                if case .jobFailed(let j, let error) = event {
                    #expect(j.id == job.id && error == "flaky failure" && j.attempts == 3 && j.status == .failed)
                }
            }
        }
    }

    @Test func unknownMethodFailsAtOnceWithoutRetry() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("m", objectType: "T", maxAttempts: 5)
            let unknownType = try f.enqueue("run", objectType: "Nope", maxAttempts: 5)
            let badArgs = try f.enqueue("add", args: ["a": 1], maxAttempts: 5)
            let runner = f.makeRunner()
            try await runner.start()
            for id in [job.id, unknownType.id, badArgs.id] { try await f.waitFor(id, .failed) }
            let failed = try f.job(job.id)
            #expect(failed.attempts == 1)
            #expect(failed.lastError == "Method not found: T.m")
            #expect(try f.job(unknownType.id).lastError == "Unknown object type: Nope")
            #expect(try f.job(badArgs.id).lastError == "Invalid arguments for Work.add: missing argument 'b'")
            #expect(try f.job(badArgs.id).attempts == 1)
            #expect(!f.log.names.contains("retrying"))
        }
    }

    @Test func stripsReservedArgsAndPassesAgentConfig() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue(
                "record", args: ["label": "x", "_scheduleId": 7, "_agentConfig": ["model": "small"]])
            let runner = f.makeRunner()
            try await runner.start()
            try await f.waitFor(job.id, .completed)
            #expect(f.probe.snapshot.args == [["label": "x"]])
            #expect(f.probe.snapshot.configs == [["model": "small"]])
            #expect(try f.job(job.id).result == ["label": "x"])
        }
    }

    @Test func eventsStreamYieldsTheLifecycle() async throws {
        try await RunnerFixture.run { f in
            let runner = f.makeRunner()
            let stream = runner.events
            let collected = Task {
                var events: [TaskRunnerEvent] = []
                for await event in stream { events.append(event) }
                return events
            }
            try await runner.start()
            let job = try f.enqueue("add", args: ["a": 1, "b": 2])
            runner.notify()
            try await f.waitFor(job.id, .completed)
            await runner.stop()
            // The stream finishes after runnerStopped, so this returns.
            let events = await collected.value
            #expect(events.map(\.testName) == ["runnerStarted", "started", "completed", "runnerStopped"])
            if case .jobCompleted(let completed, let result) = events[2] {
                #expect(completed.id == job.id && completed.status == .completed && result == .int(3))
            } else {
                Issue.record("expected jobCompleted, got \(events[2])")
            }
            // After stopping, a new stream is already finished.
            for await event in runner.events { Issue.record("unexpected event \(event)") }
        }
    }

    @Test func aJobCancelledWhileRunningIsLeftCancelled() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("waitForGate")
            let runner = f.makeRunner()
            try await runner.start()
            try await f.eventually("running") { f.probe.snapshot.started == 1 }
            _ = try f.store.cancel(id: job.id, now: Date())
            f.probe.openGate()
            try await f.eventually("attempt ended") { runner.runningCount == 0 }
            #expect(try f.job(job.id).status == .cancelled)
            #expect(!f.log.names.contains("completed"))
        }
    }

    @Test func rejectsInvalidOptionsAndRestarts() async throws {
        try await RunnerFixture.run { f in
            var options = RunnerFixture.options()
            options.concurrency = 0
            await #expect(throws: SmrtJobsError.self) { try await f.makeRunner(options).start() }
            options = RunnerFixture.options()
            options.leaseTTL = options.heartbeatInterval
            await #expect(throws: SmrtJobsError.self) { try await f.makeRunner(options).start() }
            options = RunnerFixture.options()
            options.queues = []
            await #expect(throws: SmrtJobsError.self) { try await f.makeRunner(options).start() }

            let runner = f.makeRunner()
            try await runner.start()
            await #expect(throws: SmrtJobsError.self) { try await runner.start() }
            await runner.stop()
            await runner.stop()
            await #expect(throws: SmrtJobsError.self) { try await runner.start() }
        }
    }

    @Test func defaultsAreTheOriginals() {
        let options = TaskRunner.Options()
        #expect(options.concurrency == 5)
        #expect(options.queues == ["default"])
        #expect(options.pollInterval == .milliseconds(1000))
        #expect(options.heartbeatInterval == .milliseconds(30_000))
        #expect(options.shutdownTimeout == .milliseconds(30_000))
        #expect(options.leaseTTL == .milliseconds(90_000))
        #expect(options.workerId.hasPrefix("runner:\(ProcessInfo.processInfo.hostName):\(getpid()):"))
        #expect(options.workerId != TaskRunner.Options().workerId)
        #expect(options.claimedQueues == ["default"])
        #expect(TaskRunner.Options(scheduleRunner: nil, schedulePollInterval: .seconds(1)).claimedQueues == ["default"])
    }
}
