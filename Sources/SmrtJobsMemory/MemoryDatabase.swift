import Foundation
import SmrtJobs

/// One in-memory queue database: the tables, the lock that makes every store call one transaction, and the
/// change signals to tell after a commit.
///
/// There is no rollback: a transaction checks everything that can fail before its first change (a failed
/// transaction that changed something stops the process, as a broken invariant should). Listeners are told
/// after the data lock is released, so a listener may call the store at once.
final class MemoryDatabase: @unchecked Sendable {  // `tables` is guarded by `lock`; `listeners` by its own lock
    private let lock = NSLock()
    private var tables = MemoryTables()
    private let listeners = Locked<[WeakListener]>([])

    private struct WeakListener {
        weak var signal: MemoryChangeSignal?
    }

    /// Runs `body` on the tables as they are.
    func read<T>(_ body: (MemoryTables) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(tables)
    }

    /// Runs `body` as one transaction; when it changed anything, tells the change signals once it is committed.
    func write<T>(_ body: (inout MemoryTables) throws -> T) throws -> T {
        lock.lock()
        let before = tables.revision
        let result: T
        do {
            result = try body(&tables)
        } catch {
            let changed = tables.revision != before
            lock.unlock()
            precondition(!changed, "a memory transaction failed after changing data: \(error)")
            throw error
        }
        let changed = tables.revision != before
        lock.unlock()
        if changed { notifyListeners() }
        return result
    }

    func addListener(_ signal: MemoryChangeSignal) {
        listeners.withLock { list in
            list.removeAll { $0.signal == nil }
            list.append(WeakListener(signal: signal))
        }
    }

    func removeListener(_ signal: MemoryChangeSignal) {
        listeners.withLock { list in list.removeAll { $0.signal == nil || $0.signal === signal } }
    }

    private func notifyListeners() {
        let signals = listeners.withLock { list in list.compactMap(\.signal) }
        for signal in signals { signal.databaseChanged() }
    }
}
