import Foundation

/// One backend change signal shared by every `JobHandle.wait` of a `JobQueue`: started by the first waiter,
/// paused while nobody waits, and fanned out to a `Waker` per waiter.
///
/// Waiters subscribe before they first read their job, and a `Waker` remembers a signal that comes while its
/// waiter is busy reading, so a change between a read and the next wait is never lost.
final class ChangeFanOut: Sendable {
    enum SignalState {
        case notStarted
        case starting
        case running(any ChangeSignal)
        /// Starting failed: waiters rely on their poll.
        case unavailable
        case closed
    }

    struct State {
        var signal = SignalState.notStarted
        var listeners: [UInt64: Waker] = [:]
        var nextId: UInt64 = 0
    }

    let state = Locked(State())

    /// Registers a waiter; its `Waker` is signalled at every change (and at `close`).
    func subscribe() -> (id: UInt64, waker: Waker) {
        let waker = Waker()
        let id = state.withLock { s in
            let id = s.nextId
            s.nextId += 1
            s.listeners[id] = waker
            if s.listeners.count == 1, case .running(let signal) = s.signal { signal.setActive(true) }
            return id
        }
        return (id, waker)
    }

    func unsubscribe(_ id: UInt64) {
        state.withLock { s in
            s.listeners[id] = nil
            if s.listeners.isEmpty, case .running(let signal) = s.signal { signal.setActive(false) }
        }
    }

    /// Wakes every waiter (they re-read their jobs).
    func fire() {
        let wakers = state.withLock { Array($0.listeners.values) }
        for waker in wakers { waker.signal() }
    }

    /// Whether this caller should start the signal (the first one does; later callers go on with their poll
    /// and are woken once it runs).
    func claimStart() -> Bool {
        state.withLock { s in
            guard case .notStarted = s.signal else { return false }
            s.signal = .starting
            return true
        }
    }

    /// Records the started signal (or that there is none), then wakes every waiter: a change committed
    /// before the signal watched is then seen by a re-read. Returns a signal that must be stopped because
    /// the queue was closed meanwhile.
    func started(_ signal: (any ChangeSignal)?) -> (any ChangeSignal)? {
        let orphan = state.withLock { s -> (any ChangeSignal)? in
            guard case .starting = s.signal else { return signal }
            guard let signal else {
                s.signal = .unavailable
                return nil
            }
            s.signal = .running(signal)
            if s.listeners.isEmpty { signal.setActive(false) }
            return nil
        }
        fire()
        return orphan
    }

    /// Marks the fan-out closed and wakes every waiter; returns the signal to stop, if one runs.
    func close() -> (any ChangeSignal)? {
        let signal = state.withLock { s -> (any ChangeSignal)? in
            defer { s.signal = .closed }
            if case .running(let signal) = s.signal { return signal }
            return nil
        }
        fire()
        return signal
    }

    /// Waiters subscribed now.
    var listenerCount: Int { state.withLock { $0.listeners.count } }

    /// Waiters parked in `Waker.wait` now (not reading): for tests that act while a waiter really waits.
    var parkedCount: Int {
        let wakers = state.withLock { Array($0.listeners.values) }
        return wakers.filter(\.isWaiting).count
    }

    var isSignalRunning: Bool {
        state.withLock { s in
            if case .running = s.signal { return true }
            return false
        }
    }
}
