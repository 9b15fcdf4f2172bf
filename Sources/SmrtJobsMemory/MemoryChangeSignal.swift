import Foundation
import SmrtJobs

/// The memory backend's change signal: fires after every commit that changed something, from any store of the
/// same database, on a thread of its own.
///
/// Commits only set a flag (never under the data lock, never calling `onChange` themselves); the signal's
/// thread reports once per batch of commits it finds flagged, so a burst of commits costs one call. While
/// inactive the flag is kept, and resuming reports it at once.
public final class MemoryChangeSignal: ChangeSignal, @unchecked Sendable {  // `state` is guarded by `condition`
    private struct State {
        var started = false
        var stopRequested = false
        var active = true
        /// A commit happened that was not reported yet.
        var changed = false
        var threadRunning = false
    }

    private let database: MemoryDatabase
    private let condition = NSCondition()
    private var state = State()
    private let finished = DispatchSemaphore(value: 0)

    init(database: MemoryDatabase) {
        self.database = database
    }

    public func start(onChange: @escaping @Sendable () -> Void) throws {
        let first = condition.withLock { () -> Bool in
            defer { state.started = true }
            guard !state.started, !state.stopRequested else { return false }
            state.threadRunning = true
            return true
        }
        guard first else { return }
        database.addListener(self)
        let thread = Thread { [self] in
            run(onChange)
            finished.signal()
        }
        thread.name = "smrt-memory-signal"
        thread.start()
    }

    public func setActive(_ active: Bool) {
        condition.withLock {
            state.active = active
            if active { condition.signal() }
        }
    }

    public func stop() {
        let running = condition.withLock { () -> Bool in
            defer { state.stopRequested = true }
            guard state.threadRunning, !state.stopRequested else { return false }
            condition.signal()
            return true
        }
        database.removeListener(self)
        if running { finished.wait() }
    }

    /// A commit changed the database (called by `MemoryDatabase`, without its lock held).
    func databaseChanged() {
        condition.withLock {
            state.changed = true
            condition.signal()
        }
    }

    private func run(_ onChange: @Sendable () -> Void) {
        while true {
            condition.lock()
            while !state.stopRequested && !(state.active && state.changed) { condition.wait() }
            if state.stopRequested {
                condition.unlock()
                return
            }
            state.changed = false
            condition.unlock()
            onChange()
        }
    }
}
