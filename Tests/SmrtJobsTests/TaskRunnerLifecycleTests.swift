import Foundation
import Testing
@testable import SmrtJobs

/// Timeouts, stopping, lease recovery and schedules.
@Suite struct TaskRunnerLifecycleTests {
    // MARK: Timeouts

    @Test func failTimeoutCancelsTheTaskAndFailsTheAttempt() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("hang", maxAttempts: 1, timeout: 100, timeoutBehavior: .fail)
            let runner = f.makeRunner()
            try await runner.start()
            try await f.waitFor(job.id, .failed)
            let failed = try f.job(job.id)
            #expect(failed.lastError == "timed out after 100 ms")
            #expect(failed.attempts == 1)
            try await f.eventually("method saw cancellation") { f.probe.snapshot.cancelled == 1 }
            try await f.eventually("slot freed") { runner.runningCount == 0 }
            #expect(f.log.names.filter { $0 != "runnerStarted" } == ["started", "timeout:fail", "failed"])
        }
    }

    @Test func failTimeoutIsRetriedUnderTheStrategy() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("hang", maxAttempts: 2, timeout: 50, timeoutBehavior: .fail)
            let runner = f.makeRunner(RunnerFixture.options(pollInterval: .milliseconds(10)))
            try await runner.start()
            try await f.waitFor(job.id, .failed)
            #expect(try f.job(job.id).attempts == 2)
            #expect(f.log.names.filter { $0 == "retrying" }.count == 1)
            try await f.eventually("both attempts cancelled") { f.probe.snapshot.cancelled == 2 }
        }
    }

    @Test func warnTimeoutEmitsAnEventAndTheJobRunsOn() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("sleep", args: ["ms": 250], timeout: 50, timeoutBehavior: .warn)
            let runner = f.makeRunner()
            try await runner.start()
            try await f.waitFor(job.id, .completed)
            try await f.eventually("jobCompleted emitted") { f.log.names.contains("completed") }
            #expect(try f.job(job.id).result == .int(250))
            #expect(f.probe.snapshot.cancelled == 0)
            #expect(f.log.names.filter { $0 != "runnerStarted" } == ["started", "timeout:warn", "completed"])
        }
    }

    @Test func killTimeoutIsHandledAsFailInProcess() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("hang", maxAttempts: 1, timeout: 50, timeoutBehavior: .kill)
            let runner = f.makeRunner()
            try await runner.start()
            try await f.waitFor(job.id, .failed)
            #expect(try f.job(job.id).lastError == "timed out after 50 ms")
            try await f.eventually("method saw cancellation") { f.probe.snapshot.cancelled == 1 }
            let messages = f.log.all.compactMap { event -> String? in
                if case .jobTimeout(_, .kill, 50, let message) = event { return message }
                return nil
            }
            #expect(messages.count == 1)
            #expect(messages.first?.contains("kill needs smrt-supervisor") == true)
        }
    }

    @Test func aMethodIgnoringCancellationKeepsItsSlotUntilItReturns() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("waitForGate", maxAttempts: 1, timeout: 50)
            let runner = f.makeRunner(RunnerFixture.options(concurrency: 1))
            let slotsAtFailure = Locked<[Int]>([])
            runner.on { [weak runner] event in
                if case .jobFailed = event, let runner { slotsAtFailure.withLock { $0.append(runner.runningCount) } }
            }
            try await runner.start()
            try await f.waitFor(job.id, .failed)
            // The event follows the write (from the runner's store thread): wait for it too.
            try await f.eventually("jobFailed emitted") { !slotsAtFailure.withLock { $0 }.isEmpty }
            #expect(try f.job(job.id).lastError == "timed out after 50 ms")
            // Failed at the deadline, while the method still held its slot.
            #expect(slotsAtFailure.withLock { $0 } == [1])
            f.probe.openGate()
            try await f.eventually("slot freed when the method returned") { runner.runningCount == 0 }
            // Its late success is not written over the failure.
            #expect(try f.job(job.id).status == .failed)
            #expect(!f.log.names.contains("completed"))
        }
    }

    // MARK: Stopping

    @Test func gracefulStopWaitsForTheRunningJob() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("waitForGate")
            let runner = f.makeRunner(RunnerFixture.options(shutdownTimeout: .seconds(30)))
            try await runner.start()
            try await f.eventually("running") { f.probe.snapshot.started == 1 }
            let queued = try f.enqueue("add", args: ["a": 1, "b": 1])
            let stopping = Task { await runner.stop() }
            try await f.eventually("stopping") { runner.state.withLock { $0.phase == .stopping } }
            f.probe.openGate()
            await stopping.value
            // stop() returned only after the attempt finished and was recorded.
            #expect(try f.job(job.id).status == .completed)
            // Nothing new is claimed once stopping.
            #expect(try f.job(queued.id).status == .pending)
            #expect(try f.store.listWorkers().isEmpty)
            #expect(f.log.names.suffix(2) == ["completed", "runnerStopped"])
        }
    }

    @Test func stopPastTheShutdownTimeoutReleasesTheJobWithoutCountingTheAttempt() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("hang")
            let runner = f.makeRunner(RunnerFixture.options(shutdownTimeout: .milliseconds(100)))
            try await runner.start()
            try await f.waitFor(job.id, .running)
            #expect(try f.job(job.id).attempts == 1)
            await runner.stop()
            let released = try f.job(job.id)
            #expect(released.status == .pending)
            #expect(released.attempts == 0)
            #expect(released.workerId == nil && released.startedAt == nil)
            try await f.eventually("method saw cancellation") { f.probe.snapshot.cancelled == 1 }
            #expect(f.log.names.filter { $0 != "runnerStarted" } == ["started", "released", "runnerStopped"])
            #expect(try f.store.listWorkers().isEmpty)
        }
    }

    @Test func runReturnsWhenStopped() async throws {
        try await RunnerFixture.run { f in
            let runner = f.makeRunner()
            let running = Task { try await runner.run() }
            try await f.eventually("lease registered") { try f.store.listWorkers().map(\.id) == [runner.workerId] }
            await runner.stop()
            try await running.value

            let cancelled = f.makeRunner()
            let task = Task { try await cancelled.run() }
            try await f.eventually("second lease registered") { try f.store.listWorkers().count == 1 }
            task.cancel()
            try await task.value
            #expect(try f.store.listWorkers().isEmpty)
        }
    }

    // MARK: Lease and recovery

    @Test func takesBackAndRetriesTheJobOfADeadRunnerWithoutALeaseRow() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("add", args: ["a": 20, "b": 22], runAt: Date().addingTimeInterval(-20))
            // A runner claimed it 10 s ago and died: it never heartbeated again.
            let claimed = try f.store.claim(workerId: "runner:dead", limit: 1, queues: nil, now: Date().addingTimeInterval(-10))
            #expect(claimed.map(\.id) == [job.id])
            let runner = f.makeRunner()
            try await runner.start()
            try await f.waitFor(job.id, .completed)
            let done = try f.job(job.id)
            #expect(done.attempts == 2)
            #expect(done.workerId == runner.workerId)
            #expect(done.result == .int(42))
            let recovered = f.log.all.compactMap { event -> FinishResult? in
                if case .jobRecovered(let j, let result) = event, j.id == job.id { return result }
                return nil
            }
            #expect(recovered.count == 1)
            if case .retrying = recovered.first {} else { Issue.record("expected a retry, got \(recovered)") }
        }
    }

    @Test func judgesLeasedOwnersByTheirRow() async throws {
        try await RunnerFixture.run { f in
            let now = Date()
            let deadJob = try f.enqueue("add", args: ["a": 1, "b": 1], runAt: now - 20)
            let liveJob = try f.enqueue("add", args: ["a": 2, "b": 2], runAt: now - 20)
            // Dead: lease row 10 s old, although the job row was touched recently.
            try f.store.registerWorker(
                WorkerRecord(id: "sup:dead", pid: 1, host: "h", startedAt: now - 20, heartbeat: now - 10))
            _ = try f.store.claim(workerId: "sup:dead", limit: 1, queues: nil, now: now)
            // Alive: fresh lease row, although its job's heartbeat is old (an owner that only leases its row). An hour
            // ahead, so that a test machine stalling for a minute cannot age it.
            try f.store.registerWorker(WorkerRecord(id: "sup:alive", pid: 2, host: "h", startedAt: now, heartbeat: now + 3600))
            _ = try f.store.claim(workerId: "sup:alive", limit: 1, queues: nil, now: now - 10)

            let runner = f.makeRunner()
            try await runner.start()
            try await f.waitFor(deadJob.id, .completed)
            #expect(try f.job(deadJob.id).attempts == 2)
            #expect(try f.store.listWorkers().map(\.id).sorted() == ["sup:alive", runner.workerId].sorted())
            // Several heartbeats later the live owner's job is still its own.
            try await Task.sleep(for: .milliseconds(300))
            let live = try f.job(liveJob.id)
            #expect(live.status == .running && live.workerId == "sup:alive")
        }
    }

    @Test func heartbeatsKeepItsLeaseAndJobsFresh() async throws {
        try await RunnerFixture.run { f in
            let job = try f.enqueue("waitForGate")
            let runner = f.makeRunner()
            try await runner.start()
            let leasedAt = try #require(try f.store.listWorkers().first?.heartbeat)
            try await f.waitFor(job.id, .running)
            let claimedBeat = try #require(try f.job(job.id).workerHeartbeat)
            // Wait for heartbeats to carry the lease well past its first value.
            var renewed = leasedAt
            try await f.eventually("lease and job heartbeats renewed") {
                renewed = try f.store.listWorkers().first { $0.id == runner.workerId }?.heartbeat ?? leasedAt
                let beat = try f.job(job.id).workerHeartbeat ?? claimedBeat
                return renewed > leasedAt.addingTimeInterval(0.6) && beat > claimedBeat
            }
            // A peer whose lease cutoff (its now minus 1 s) falls after the first heartbeat but before the
            // renewed one: it would take the job of a runner that stopped heartbeating, and leaves this one.
            let peerNow = renewed.addingTimeInterval(0.5)
            let peer = f.makeRunner(RunnerFixture.options(), clock: { peerNow })
            try await peer.start()
            #expect(try f.job(job.id).status == .running)
            f.probe.openGate()
            try await f.waitFor(job.id, .completed)
            #expect(try f.job(job.id).attempts == 1)
            #expect(!f.log.names.contains("recovered"))
        }
    }

    // MARK: Schedules

    @Test func firesDueSchedulesRunsThemAndUpdatesTheirCounters() async throws {
        try await RunnerFixture.run { f in
            let scheduleRunner = ScheduleRunner(store: f.store)
            // Created two minutes ago with an every-minute cron: its first slot is already due.
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(
                    agentType: "Work", cron: "* * * * *", method: "record", methodArgs: ["label": "cron"],
                    agentConfig: ["model": "m"]),
                in: f.store, now: Date().addingTimeInterval(-120))
            let runner = f.makeRunner(RunnerFixture.options(scheduleRunner: scheduleRunner))
            try await runner.start()
            try await f.eventually("schedule run recorded") {
                try f.store.getSchedule(id: schedule.id)?.successCount == 1
            }
            let after = try #require(try f.store.getSchedule(id: schedule.id))
            #expect(after.runCount == 1 && after.runningCount == 0 && after.lastStatus == .success)
            #expect(after.nextRun.map { $0 > Date() } == true)
            let jobs = try f.store.list(JobQuery(queue: ScheduleRunner.queue))
            #expect(jobs.count == 1)
            #expect(jobs.first?.status == .completed)
            #expect(jobs.first?.scheduleId == schedule.id)
            // The method saw neither reserved key; the constructed object got the agent config.
            #expect(f.probe.snapshot.args == [["label": "cron"]])
            #expect(f.probe.snapshot.configs == [["model": "m"]])
        }
    }

    @Test func aScheduledJobThatFailsForGoodCountsAsAFailure() async throws {
        try await RunnerFixture.run { f in
            let scheduleRunner = ScheduleRunner(store: f.store)
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "Work", cron: "* * * * *", method: "missing"),
                in: f.store, now: Date().addingTimeInterval(-120))
            let runner = f.makeRunner(RunnerFixture.options(scheduleRunner: scheduleRunner))
            try await runner.start()
            try await f.eventually("failure recorded") { try f.store.getSchedule(id: schedule.id)?.failureCount == 1 }
            let after = try #require(try f.store.getSchedule(id: schedule.id))
            #expect(after.runningCount == 0 && after.lastStatus == .failed)
            #expect(after.lastError == "Method not found: Work.missing")
        }
    }
}
