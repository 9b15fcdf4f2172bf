import Foundation

/// Work for the loop thread, posted from any thread: closures queued under a lock, and ONE `UVAsync` that
/// wakes the loop to run them in order. Wake-ups coalesce, so the loop drains everything queued so far.
final class LoopMailbox: @unchecked Sendable {  // `items` under `lock`; closures run on the loop thread only
    private let lock = NSLock()
    private var items: [() -> Void] = []
    private var async: UVAsync!

    init(loop: UVLoop) throws {
        async = try UVAsync(loop: loop) { [unowned self] _ in drain() }
    }

    /// Queues `work` to run on the loop thread. Returns false once the mailbox is closed.
    @discardableResult
    func post(_ work: @escaping () -> Void) -> Bool {
        lock.withLock { items.append(work) }
        return async.send()
    }

    /// A function any thread may call to have `work` run on the loop thread.
    func poster(_ work: @escaping () -> Void) -> @Sendable () -> Void {
        nonisolated(unsafe) let work = work  // only ever runs on the loop thread
        return { [self] in post(work) }
    }

    /// Runs everything posted so far (loop thread).
    func drain() {
        while true {
            let batch: [() -> Void] = lock.withLock {
                let taken = items
                items.removeAll(keepingCapacity: true)
                return taken
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }

    /// Runs what is left, then closes the async handle (loop thread).
    func close() {
        drain()
        async.close()
    }
}
