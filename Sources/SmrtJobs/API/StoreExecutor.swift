import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A dedicated thread that owns one store and runs the calls queued to it, one at a time, in order.
///
/// Store calls block: SQLite waits up to its busy timeout for another connection's lock, a network database
/// waits for its server. Run on the cooperative thread pool, a few such calls would stall every task of the
/// process. Async callers of `run(_:)` suspend on a continuation instead, and the thread resumes them.
///
/// ```swift
/// let executor = try await StoreExecutor(name: "smrt-store") { try backend.openStore() }
/// let job = try await executor.run { store in try store.get(id: 42) }
/// await executor.close()
/// ```
/// `close()` lets the calls already queued finish, releases the store (closing its connection) and ends the
/// thread; later calls throw `SmrtJobsError.closed`. An executor released without `close()` does the same,
/// without waiting.
public final class StoreExecutor<Store: Sendable>: Sendable {
    /// The queue of calls and the thread's life, shared with the thread (which must not keep the executor
    /// alive, so that an executor nobody holds is closed by `deinit`).
    final class Core: Sendable {
        struct State {
            var work: [@Sendable (Store) -> Void] = []
            var closing = false
            var finished = false
            var finishWaiters: [CheckedContinuation<Void, Never>] = []
        }

        let name: String
        let state = Locked(State())
        /// One signal per queued call, and one for `close`.
        let wakeups = DispatchSemaphore(value: 0)

        init(name: String) {
            self.name = name
        }

        func submit(_ body: @escaping @Sendable (Store) -> Void) throws {
            try state.withLock { s in
                if s.closing { throw SmrtJobsError.closed(what: name) }
                s.work.append(body)
            }
            wakeups.signal()
        }

        /// Stops taking calls; the thread ends once the queued ones have run. Whether this call asked first.
        @discardableResult
        func requestClose() -> Bool {
            let first = state.withLock { s in
                defer { s.closing = true }
                return !s.closing
            }
            if first { wakeups.signal() }
            return first
        }

        func waitUntilFinished() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let finished = state.withLock { s -> Bool in
                    if !s.finished { s.finishWaiters.append(continuation) }
                    return s.finished
                }
                if finished { continuation.resume() }
            }
        }

        var isFinished: Bool { state.withLock { $0.finished } }

        /// The thread's body: serves calls until closed, then releases the store.
        func serve(_ store: Store) {
            var store: Store? = store
            while true {
                wakeups.wait()
                let next = state.withLock { s -> (@Sendable (Store) -> Void)? in
                    s.work.isEmpty ? nil : s.work.removeFirst()
                }
                if let next, let store {
                    next(store)
                } else if state.withLock({ $0.closing && $0.work.isEmpty }) {
                    break
                }
            }
            store = nil
            finish()
        }

        func finish() {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.closing = true
                s.finished = true
                defer { s.finishWaiters = [] }
                return s.finishWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    let core: Core

    /// The thread's name (Linux keeps its first 15 bytes), also used in `SmrtJobsError.closed`.
    public var name: String { core.name }

    /// Starts the thread and opens the store on it with `open` (connections are opened on the thread that
    /// will use them). Throws what `open` throws; the thread has then ended.
    public init(name: String = "smrt-store", open: @escaping @Sendable () throws -> Store) async throws {
        let core = Core(name: name)
        self.core = core
        try await withCheckedThrowingContinuation { (opened: CheckedContinuation<Void, Error>) in
            Self.startThread(core) {
                do {
                    let store = try open()
                    opened.resume()
                    return store
                } catch {
                    opened.resume(throwing: error)
                    return nil
                }
            }
        }
    }

    /// Starts the thread on a store that is already open (the store must allow use from another thread, as
    /// `JobStore`s do).
    public init(name: String = "smrt-store", store: Store) {
        core = Core(name: name)
        Self.startThread(core) { store }
    }

    private static func startThread(_ core: Core, open: @escaping @Sendable () -> Store?) {
        let thread = Thread {
            nameCurrentThread(core.name)
            guard let store = open() else {
                core.finish()
                return
            }
            core.serve(store)
        }
        thread.start()
    }

    deinit {
        core.requestClose()
    }

    /// Runs `body` with the store on the executor's thread and returns its result. The call runs to its end
    /// even if the calling task is cancelled meanwhile (a half-done store call cannot be taken back).
    ///
    /// - Throws: what `body` throws, or `SmrtJobsError.closed` once `close()` was called.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Store) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            do {
                try core.submit { store in continuation.resume(with: Result { try body(store) }) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues `body` without waiting for it (for work whose result nobody needs). Throws
    /// `SmrtJobsError.closed` once `close()` was called.
    public func submit(_ body: @escaping @Sendable (Store) -> Void) throws {
        try core.submit(body)
    }

    /// Runs the calls already queued, releases the store and ends the thread; returns when it has ended.
    /// Safe to call more than once and from several tasks.
    public func close() async {
        core.requestClose()
        await core.waitUntilFinished()
    }

    /// Whether the thread has ended (after `close()`, or after `open` failed).
    public var isClosed: Bool { core.isFinished }
}

/// Names the calling thread as `ps`, `top` and `/proc` show it (the first 15 bytes: Linux keeps no more).
/// Foundation's `Thread.name` does not always reach the kernel on Linux (set before the thread runs, or from
/// inside it before `start()` has returned in the parent), so the name is written where the kernel keeps it.
func nameCurrentThread(_ name: String) {
    let short = String(decoding: name.utf8.prefix(15), as: UTF8.self)
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    if fd >= 0 {
        _ = Array(short.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
    #endif
    Thread.current.name = short
}
