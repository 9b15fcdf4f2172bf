import Foundation
import Logging

/// Runs jobs inside the current process with Swift concurrency: the original's in-process runner.
///
/// ```swift
/// let runner = TaskRunner(store: store, registry: registry, options: .init(concurrency: 4, queues: ["mail"]))
/// runner.on { event in print(event) }
/// try await runner.start()
/// try await doc.bg("generateSummary"); runner.notify()
/// await runner.stop()
/// ```
///
/// - Claiming: up to `concurrency` jobs run at once. The runner claims every `pollInterval`, at once again
///   when a slot frees or a claim filled every free slot, and whenever `notify()` is called.
/// - Results: success stores the method's result; `JobExecutionError`s (unknown type or method, missing
///   target, bad arguments, result too large) fail the job at once; any other error retries it under its
///   `RetryStrategy` until `maxAttempts`. Every write is conditional on the job still running under this
///   runner, so a job cancelled or taken back meanwhile is left alone.
/// - Timeouts: `.warn` emits `jobTimeout` and lets the attempt run on. `.fail` cancels the attempt's task and
///   fails the attempt ("timed out after N ms"), retried under the strategy. `.kill` needs a process to
///   kill, which only `smrt-supervisor` has: here it is handled exactly like `.fail`. Cancellation is
///   cooperative: a method that ignores it keeps its slot until it returns, although its job was already
///   failed or rescheduled (and may even run again meanwhile).
/// - Leases: the runner keeps a row in the workers table (`registerWorker`, `heartbeatWorker` every
///   `heartbeatInterval`, `removeWorker` on stop) and touches its running jobs' `workerHeartbeat` at the same
///   pace. On start and at every heartbeat it takes back the running jobs of dead owners and retries them
///   under their strategy (the attempt counts): owners whose lease row is older than `leaseTTL`, and owners
///   with no lease row at all whose jobs' heartbeats are older than `leaseTTL` (runners that keep no row).
/// - Stopping: `stop()` stops claiming, waits up to `shutdownTimeout` for running attempts, then cancels the
///   rest and releases their jobs back to pending without counting the attempt.
///
/// Store calls block (a busy database waits for its lock), so claims, results, schedule fires, the start and
/// the shutdown run them on the runner's own store thread (a `StoreExecutor`), never on the cooperative
/// thread pool; only the lease loop's heartbeat and recovery (every `heartbeatInterval`) still call the store
/// from its task. `clock` gives the times written to the store and the lease cutoffs; waiting (polls,
/// heartbeats, timeouts) uses the continuous clock.
/// A runner runs once: after `stop()`, create a new one.
public final class TaskRunner: Sendable {
    public let options: Options
    let store: any JobStore
    /// Runs the runner's store calls off the cooperative pool (see `withStore`).
    let storeThread: StoreExecutor<any JobStore>
    let registry: ObjectRegistry
    let clock: @Sendable () -> Date
    let logger: Logger
    let random: Locked<AnyRandomNumberGenerator>
    /// Finished attempts, durations and queue waits, to swift-metrics.
    let metrics: JobMetrics
    let state = Locked(State())
    /// Wakes the claim loop (and `stop()` waiting for running attempts).
    let waker = Waker()

    /// The id this runner claims under and leases.
    public var workerId: String { options.workerId }

    enum Phase: String {
        case idle, running, stopping, stopped
    }

    /// One attempt in flight.
    struct InFlight {
        var job: SmrtJob
        var attempt: AttemptState
        var task: Task<Void, Never>
    }

    struct State {
        var phase = Phase.idle
        var inFlight: [UInt64: InFlight] = [:]
        var nextAttemptKey: UInt64 = 0
        var loopTask: Task<Void, Never>?
        var leaseTask: Task<Void, Never>?
        var stopTask: Task<Void, Never>?
        var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
        var handlers: [(id: UInt64, handler: @Sendable (TaskRunnerEvent) -> Void)] = []
        var nextHandlerId: UInt64 = 0
        var streams: [UUID: AsyncStream<TaskRunnerEvent>.Continuation] = [:]
        /// Until when this runner's lease holds, as written at its last successful renewal.
        var leaseExpiresAt = Date.distantPast
    }

    /// - Parameters:
    ///   - clock: the time written to the store (claims, results, heartbeats, lease cutoffs).
    ///   - random: for retry jitter.
    public init(
        store: any JobStore, registry: ObjectRegistry, options: Options = Options(),
        clock: @escaping @Sendable () -> Date = { Date() },
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        logger: Logger = Logger(label: "smrt.runner")
    ) {
        self.store = store
        storeThread = StoreExecutor(name: "smrt-runner", store: store)
        self.registry = registry
        self.options = options
        self.clock = clock
        self.random = Locked(AnyRandomNumberGenerator(random))
        metrics = JobMetrics(factory: options.metricsFactory)
        var logger = logger
        logger[metadataKey: "worker"] = "\(options.workerId)"
        self.logger = logger
    }

    /// How many attempts are running now (including timed-out ones whose task has not returned yet).
    public var runningCount: Int { state.withLock { $0.inFlight.count } }

    /// Whether the runner has started and `stop()` has not been called yet.
    public var isRunning: Bool { state.withLock { $0.phase == .running } }

    /// Validates the options, registers the lease, takes back jobs of dead owners, and starts claiming in a
    /// background task. Returns once started. Throws on invalid options, a store error while registering,
    /// or when the runner was already started.
    public func start() async throws {
        try options.validate()
        try state.withLock { s in
            guard s.phase == .idle else {
                throw SmrtJobsError.invalidValue(
                    field: "runner", value: workerId,
                    reason: "already \(s.phase.rawValue); a runner runs once, create a new one")
            }
            s.phase = .running
        }
        let now = clock()
        let lease = leaseRecord(now: now)
        do {
            try await withStore { try $0.registerWorker(lease) }
            leaseRenewed(until: lease.expiresAt)
        } catch {
            state.withLock { $0.phase = .idle }
            throw error
        }
        logger.info("runner started (concurrency \(options.concurrency), queues \(options.claimedQueues ?? ["*"]))")
        emit(.runnerStarted(workerId: workerId))
        await onStoreThread { self.recoverDeadOwners(now: now) }
        let launched = state.withLock { s -> Bool in
            guard s.phase == .running else { return false }
            s.leaseTask = Task { await self.leaseLoop() }
            s.loopTask = Task { await self.claimLoop() }
            return true
        }
        if !launched {
            // stop() came in while starting; its shutdown may have removed the lease row before it was written.
            let workerId = self.workerId
            _ = try? await withStore { try $0.removeWorker(id: workerId) }
        }
    }

    /// Stops claiming, waits up to `shutdownTimeout` for running attempts, then cancels the rest and
    /// releases their jobs (back to pending, attempt not counted), removes the lease row and emits
    /// `runnerStopped`. Safe to call more than once and from several tasks; all return when stopped.
    public func stop() async {
        let task = state.withLock { s -> Task<Void, Never>? in
            switch s.phase {
            case .idle:
                s.phase = .stopped
                s.stopTask = Task {}
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
            finishEventStreams()
            await storeThread.close()
        }
    }

    /// Starts the runner and returns when it has stopped (after `stop()`, or when the calling task is
    /// cancelled, which stops it gracefully).
    public func run() async throws {
        try await start()
        await withTaskCancellationHandler {
            await waitUntilStopped()
        } onCancel: {
            Task { await self.stop() }
        }
    }

    /// Wakes the claim loop at once, e.g. right after enqueueing a job in this process.
    public func notify() {
        waker.signal()
    }

    /// Runs `body` with the store on the runner's store thread. Once `stop()` has closed that thread (an
    /// attempt that ignored cancellation reports late), on the calling task: a late outcome is still written.
    func withStore<T: Sendable>(_ body: @escaping @Sendable (any JobStore) throws -> T) async throws -> T {
        do {
            return try await storeThread.run(body)
        } catch SmrtJobsError.closed {
            return try body(store)
        }
    }

    /// Runs `body` (store calls that report their own errors) on the store thread, as `withStore` does.
    func onStoreThread(_ body: @escaping @Sendable () -> Void) async {
        _ = try? await withStore { _ in body() }
    }

    private func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let stopped = state.withLock { s -> Bool in
                if s.phase == .stopped { return true }
                s.stoppedWaiters.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    // MARK: Claiming

    private func claimLoop() async {
        let continuous = ContinuousClock()
        var nextSchedulePoll = continuous.now
        while state.withLock({ $0.phase == .running }) {
            if options.scheduleRunner != nil, continuous.now >= nextSchedulePoll {
                nextSchedulePoll = continuous.now.advanced(by: options.schedulePollInterval)
                await fireDueSchedules()
            }
            let free = options.concurrency - runningCount
            // Nothing new starts while the lease is not safely held: another owner may soon take its jobs.
            if free > 0, holdsLease(at: clock()) {
                do {
                    let (workerId, queues, now) = (self.workerId, options.claimedQueues, clock())
                    let jobs = try await withStore { try $0.claim(workerId: workerId, limit: free, queues: queues, now: now) }
                    for job in jobs { launch(job) }
                    // A full batch suggests more are ready; the next round claims as soon as a slot frees.
                    if jobs.count == free { continue }
                } catch {
                    reportError("claim failed: \(error)")
                }
            }
            var timeout = options.pollInterval
            if options.scheduleRunner != nil { timeout = min(timeout, nextSchedulePoll - continuous.now) }
            await waker.wait(timeout: max(timeout, .zero))
        }
    }

    private func fireDueSchedules() async {
        guard let scheduleRunner = options.scheduleRunner else { return }
        let now = clock()
        do {
            for fire in try await withStore({ _ in try scheduleRunner.runDue(now: now) }) {
                if let error = fire.error { reportError("schedule \(fire.scheduleId) did not fire: \(error)") }
            }
        } catch {
            reportError("schedule poll failed: \(error)")
        }
    }

    private func launch(_ job: SmrtJob) {
        let attempt = AttemptState()
        state.withLock { s in
            let key = s.nextAttemptKey
            s.nextAttemptKey += 1
            let task = Task {
                await self.execute(job, attempt: attempt)
                self.state.withLock { _ = $0.inFlight.removeValue(forKey: key) }
                self.waker.signal()
            }
            s.inFlight[key] = InFlight(job: job, attempt: attempt, task: task)
        }
    }

    // MARK: Stopping

    private func shutdown() async {
        logger.info("runner stopping")
        waker.signal()
        await state.withLock { $0.loopTask }?.value

        let continuous = ContinuousClock()
        let deadline = continuous.now.advanced(by: options.shutdownTimeout)
        while runningCount > 0, continuous.now < deadline {
            await waker.wait(timeout: deadline - continuous.now)
        }

        // Attempts still running lose the race for their report here, so they write nothing when they end.
        let leftovers = state.withLock { Array($0.inFlight.values) }
        let abandoned = leftovers.filter { $0.attempt.settle() }
        if !abandoned.isEmpty {
            do {
                let (ids, workerId, now) = (abandoned.map(\.job.id), self.workerId, clock())
                let released = try await withStore { try $0.release(jobIds: ids, workerId: workerId, now: now) }
                logger.warning("shutdown timeout passed: released \(released) of \(abandoned.count) running jobs")
            } catch {
                reportError("could not release jobs \(abandoned.map(\.job.id)) on shutdown: \(error)")
            }
            for entry in abandoned {
                var job = entry.job
                job.status = .pending
                job.attempts = max(0, job.attempts - 1)
                emit(.jobReleased(job))
            }
        }
        for entry in leftovers { entry.task.cancel() }

        let leaseTask = state.withLock { $0.leaseTask }
        leaseTask?.cancel()
        await leaseTask?.value
        do {
            let workerId = self.workerId
            try await withStore { try $0.removeWorker(id: workerId) }
        } catch {
            reportError("could not remove lease row: \(error)")
        }

        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.phase = .stopped
            defer { s.stoppedWaiters = [] }
            return s.stoppedWaiters
        }
        await storeThread.close()
        logger.info("runner stopped")
        emit(.runnerStopped(workerId: workerId))
        finishEventStreams()
        for waiter in waiters { waiter.resume() }
    }
}

/// A type-erased generator, so the runner can keep whichever one it was given.
struct AnyRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var base: any RandomNumberGenerator & Sendable

    init(_ base: some RandomNumberGenerator & Sendable) {
        self.base = base
    }

    mutating func next() -> UInt64 { base.next() }
}
