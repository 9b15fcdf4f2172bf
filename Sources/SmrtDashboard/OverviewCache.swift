import Foundation
import Logging
import SmrtJobs

/// Keeps an `OverviewSnapshot` fresh: refreshes it on a connection of its own, one refresh at a time, every
/// `interval` at the most, and never more than `maxShare` of the time: a refresh that took `d` is followed by a
/// pause of at least `d × (1 − maxShare) / maxShare` (with 10 %, nine times as long), so a slow database costs the
/// dashboard at most ~10 % of one core, however many requests it serves. Requests read the last snapshot and
/// never wait for a refresh (but for the very first one, a bounded time).
final class OverviewCache: Sendable {
    private struct State {
        var snapshot: OverviewSnapshot?
        var lastError: String?
        /// The pause in progress, which `refreshSoon` may cut short (not the part the share rule requires).
        var sleeper: Task<Void, Never>?
        var soon = false
        var loop: Task<Void, Never>?
        var firstWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        var stopped = false
    }

    private let executor: StoreExecutor<any JobStore & ScheduleStore>
    private let interval: Duration
    private let maxShare: Double
    private let logger: Logger
    private let onRefresh: @Sendable (OverviewSnapshot) -> Void
    private let state = Locked(State())

    /// `onRefresh` runs on the refreshing task after each snapshot is read (the metrics take it there).
    init(
        executor: StoreExecutor<any JobStore & ScheduleStore>, interval: Duration, maxShare: Double = 0.1, logger: Logger,
        onRefresh: @escaping @Sendable (OverviewSnapshot) -> Void = { _ in }
    ) {
        self.onRefresh = onRefresh
        self.executor = executor
        self.interval = interval
        self.maxShare = maxShare
        self.logger = logger
    }

    /// The latest snapshot, if any refresh has succeeded.
    var snapshot: OverviewSnapshot? { state.withLock { $0.snapshot } }

    /// Why the last refresh failed (nil once one succeeds again).
    var lastError: String? { state.withLock { $0.lastError } }

    /// Starts refreshing in the background.
    func start() {
        let task = Task { [self] in await self.loop() }
        state.withLock { $0.loop = task }
    }

    /// The snapshot, waiting at most `timeout` for the first refresh.
    func current(waitingAtMost timeout: Duration = .seconds(3)) async -> OverviewSnapshot? {
        if let snapshot { return snapshot }
        let id = UUID()
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            releaseWaiter(id)
        }
        await waitForFirst(id)
        timer.cancel()
        return snapshot
    }

    /// Asks for a refresh as soon as the share rule allows (after an action changed what the overview shows).
    func refreshSoon() {
        let sleeper = state.withLock { s -> Task<Void, Never>? in
            s.soon = true
            return s.sleeper
        }
        sleeper?.cancel()
    }

    /// Applies a queue setting just written, so pages show it before the next refresh.
    func updateQueue(_ name: String, paused: Bool?, concurrency: QueueConcurrency?) {
        state.withLock { s in
            guard var snapshot = s.snapshot else { return }
            if let index = snapshot.queues.firstIndex(where: { $0.name == name }) {
                if let paused { snapshot.queues[index].paused = paused }
                if let concurrency { snapshot.queues[index].concurrency = concurrency.value }
            } else {
                snapshot.queues.append(QueueInfo(name: name, paused: paused ?? false, concurrency: concurrency?.value))
                snapshot.queues.sort { $0.name < $1.name }
            }
            s.snapshot = snapshot
        }
    }

    /// Stops refreshing; returns when the refresh in progress (if any) has ended.
    func stop() async {
        let (loop, sleeper) = state.withLock { s in
            s.stopped = true
            return (s.loop, s.sleeper)
        }
        loop?.cancel()
        sleeper?.cancel()
        await loop?.value
        releaseWaiters()
    }

    /// Reads every figure in one call on the cache's connection.
    static func read(_ store: any JobStore & ScheduleStore) throws -> OverviewSnapshot {
        let started = ContinuousClock.now
        let now = try store.databaseTime() ?? Date()
        let queues = try store.asQueueStore().listQueues(now: now)
        let perMinute = try store.asMonitoringStore().finishedPerMinute(since: now.addingTimeInterval(-3600))
        let workers = try store.listWorkers()
        let schedules = try store.listSchedules()
        return OverviewSnapshot(
            takenAt: now, receivedAt: Date(), duration: ContinuousClock.now - started, queues: queues, perMinute: perMinute, workers: workers,
            schedules: schedules)
    }

    private func loop() async {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                let snapshot = try await executor.run { store in try Self.read(store) }
                onRefresh(snapshot)
                state.withLock { s in
                    s.snapshot = snapshot
                    s.lastError = nil
                }
            } catch {
                let message = ArgumentRedaction.redact(text: "\(error)")
                let changed = state.withLock { s in
                    defer { s.lastError = message }
                    return s.lastError != message
                }
                if changed { logger.error("overview refresh failed: \(message)", metadata: ["event": "refresh_failed"]) }
            }
            releaseWaiters()
            let (required, pause) = Self.pause(after: ContinuousClock.now - started, interval: interval, maxShare: maxShare)
            // The share rule's pause cannot be cut short; the rest of the interval can.
            try? await Task.sleep(for: required)
            if Task.isCancelled { break }
            let rest = pause - required
            let sleeper = Task<Void, Never> { _ = try? await Task.sleep(for: rest) }
            let skip = state.withLock { s -> Bool in
                if s.stopped { return true }
                if s.soon {
                    s.soon = false
                    return true
                }
                s.sleeper = sleeper
                return false
            }
            if skip { sleeper.cancel() }
            await sleeper.value
            state.withLock { s in
                s.sleeper = nil
                s.soon = false
            }
        }
    }

    /// After a refresh that took `took`: the pause the share rule requires (refreshing at most `maxShare` of the
    /// time: `took × (1 − maxShare) / maxShare`), and the whole pause (at least `interval`).
    static func pause(after took: Duration, interval: Duration, maxShare: Double) -> (required: Duration, total: Duration) {
        let required = took * ((1 - maxShare) / maxShare)
        return (required, max(interval, required))
    }

    private func waitForFirst(_ id: UUID) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.snapshot != nil || s.lastError != nil || s.stopped { return true }
                s.firstWaiters[id] = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Resumes one waiter whose time is up (if it is still waiting).
    private func releaseWaiter(_ id: UUID) {
        let waiter = state.withLock { s in s.firstWaiters.removeValue(forKey: id) }
        waiter?.resume()
    }

    private func releaseWaiters() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.firstWaiters = [:] }
            return Array(s.firstWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
