import Foundation

/// Polling for due schedules from Swift concurrency: `start()`, `stop()`, `run()`.
extension ScheduleRunner {
    enum Phase: String {
        case idle, running, stopping, stopped
    }

    struct Lifecycle {
        var phase = Phase.idle
        var loopTask: Task<Void, Never>?
        var stopTask: Task<Void, Never>?
        var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Whether `start()` has run and `stop()` has not been called yet.
    public var isRunning: Bool { lifecycle.withLock { $0.phase == .running } }

    /// Fires due schedules now and then every `pollInterval`, in a background task, until `stop()`. The
    /// store calls run on a thread of their own (a `StoreExecutor` over this runner's store), never on the
    /// cooperative thread pool. Emits `runnerStarted`; a failed poll emits `runnerError` and the runner
    /// carries on.
    ///
    /// - Parameter clock: the time passed to `runDue`.
    /// - Throws: `SmrtJobsError.invalidValue` for a poll interval that is not positive, or when the runner
    ///   was started before (a runner runs once: create a new one).
    public func start(pollInterval: Duration = .seconds(30), clock: @escaping @Sendable () -> Date = { Date() }) async throws {
        guard pollInterval > .zero else {
            throw SmrtJobsError.invalidValue(field: "pollInterval", value: "\(pollInterval)", reason: "must be positive")
        }
        try lifecycle.withLock { s in
            guard s.phase == .idle else {
                throw SmrtJobsError.invalidValue(
                    field: "scheduleRunner", value: s.phase.rawValue,
                    reason: "already started; a runner runs once, create a new one")
            }
            s.phase = .running
            let executor = StoreExecutor(name: "smrt-schedules", store: store)
            s.loopTask = Task { await self.pollLoop(executor: executor, pollInterval: pollInterval, clock: clock) }
        }
        logger.info("schedule runner started (poll every \(pollInterval))")
        hub.emit(.runnerStarted)
    }

    /// Stops polling: waits for a poll in progress, ends the runner's thread, emits `runnerStopped` and ends
    /// the event streams. Safe to call more than once and from several tasks; all return when stopped.
    /// `runDue` and `handleJobCompletion` remain usable directly.
    public func stop() async {
        let task = lifecycle.withLock { s -> Task<Void, Never>? in
            switch s.phase {
            case .idle:
                s.phase = .stopped
                return nil
            case .running:
                s.phase = .stopping
                s.stopTask = Task { await self.shutdown() }
                return s.stopTask
            case .stopping, .stopped:
                return s.stopTask
            }
        }
        if let task {
            await task.value
        } else {
            hub.finish()
        }
    }

    /// Starts the runner and returns when it has stopped (after `stop()`, or when the calling task is
    /// cancelled, which stops it).
    public func run(pollInterval: Duration = .seconds(30), clock: @escaping @Sendable () -> Date = { Date() }) async throws {
        try await start(pollInterval: pollInterval, clock: clock)
        await withTaskCancellationHandler {
            await waitUntilStopped()
        } onCancel: {
            Task { await self.stop() }
        }
    }

    private func pollLoop(
        executor: StoreExecutor<any JobStore & ScheduleStore>, pollInterval: Duration, clock: @escaping @Sendable () -> Date
    ) async {
        while lifecycle.withLock({ $0.phase == .running }) {
            do {
                _ = try await executor.run { _ in try self.runDue(now: clock()) }
            } catch {
                let message = ArgumentRedaction.redact(text: "schedule poll failed: \(error)")
                logger.error("\(message)")
                hub.emit(.runnerError(message: message))
            }
            await waker.wait(timeout: pollInterval)
        }
        await executor.close()
    }

    private func shutdown() async {
        waker.signal()
        await lifecycle.withLock { $0.loopTask }?.value
        let waiters = lifecycle.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.phase = .stopped
            defer { s.stoppedWaiters = [] }
            return s.stoppedWaiters
        }
        logger.info("schedule runner stopped")
        hub.emit(.runnerStopped)
        hub.finish()
        for waiter in waiters { waiter.resume() }
    }

    private func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = lifecycle.withLock { s -> Bool in
                if s.phase != .stopped { s.stoppedWaiters.append(continuation) }
                return s.phase == .stopped
            }
            if stopped { continuation.resume() }
        }
    }
}
