import CLibUV
import Synchronization

/// A libuv async handle (`uv_async_t`): wakes the loop from another thread.
///
/// ``send()`` may be called from any thread; the callback runs on the loop thread. Sends coalesce:
/// several sends before the loop wakes up give one callback, so the callback should drain a queue
/// rather than count wake-ups. An open async handle keeps the loop running; close it (or ``unref()``
/// it) to let ``UVLoop/run(_:)`` return.
public final class UVAsync: UVHandle, @unchecked Sendable {  // only send() crosses threads, checked under `sendable`
    // Guards the window between close() and the close callback: uv_async_send on a closing (or
    // freed) handle is undefined, so senders check this flag under the lock.
    private let sendable = Mutex(false)
    private var callback: ((UVAsync) -> Void)?

    /// Creates an async handle on `loop` (`uv_async_init`); it is active at once.
    public init(loop: UVLoop, _ callback: @escaping (UVAsync) -> Void) throws {
        self.callback = callback
        super.init(loop: loop, type: UV_ASYNC)
        try initialize("uv_async_init") { uv_async_init(loop.raw, typed(uv_async_t.self), uvAsyncWoken) }
        sendable.withLock { $0 = true }
    }

    /// Wakes the loop so the callback runs (`uv_async_send`). Thread-safe. Returns `false` (and does
    /// nothing) once ``UVHandle/close(_:)`` has been called.
    @discardableResult
    public func send() -> Bool {
        sendable.withLock { open in
            guard open else { return false }
            return uv_async_send(typed(uv_async_t.self)) == 0
        }
    }

    override func willClose() {
        sendable.withLock { $0 = false }
    }

    override func didClose() {
        callback = nil
    }

    fileprivate func wake() {
        callback?(self)
    }
}

private func uvAsyncWoken(_ raw: UnsafeMutablePointer<uv_async_t>?) {
    UVHandle.from(raw, as: UVAsync.self).wake()
}
