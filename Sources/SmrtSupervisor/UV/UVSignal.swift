import CLibUV

/// A libuv signal watcher (`uv_signal_t`).
///
/// The real signal handler (installed by libuv) only writes to a pipe; the callback runs later on
/// the loop thread, so it may do anything. Several watchers, on one or several loops, may watch the
/// same signal. When the last watcher of a signal stops, libuv restores the default disposition.
public final class UVSignal: UVHandle {
    private var callback: ((UVSignal, Int32) -> Void)?

    /// Creates a stopped signal watcher on `loop` (`uv_signal_init`).
    public init(loop: UVLoop) throws {
        super.init(loop: loop, type: UV_SIGNAL)
        try initialize("uv_signal_init") { uv_signal_init(loop.raw, typed(uv_signal_t.self)) }
    }

    /// Watches `signum`; `callback` gets the watcher and the signal number (`uv_signal_start`).
    public func start(_ signum: Int32, _ callback: @escaping (UVSignal, Int32) -> Void) throws {
        try requireOpen("uv_signal_start")
        self.callback = callback
        try UVError.check(uv_signal_start(typed(uv_signal_t.self), uvSignalReceived, signum), "uv_signal_start")
    }

    /// Like ``start(_:_:)`` but stops after the first delivery (`uv_signal_start_oneshot`).
    /// libuv installs the handler with `SA_RESETHAND`: unless another watcher holds the signal, a
    /// second delivery gets the default action (for most signals, termination).
    public func startOneShot(_ signum: Int32, _ callback: @escaping (UVSignal, Int32) -> Void) throws {
        try requireOpen("uv_signal_start_oneshot")
        self.callback = callback
        try UVError.check(
            uv_signal_start_oneshot(typed(uv_signal_t.self), uvSignalReceived, signum), "uv_signal_start_oneshot")
    }

    /// Stops watching. Does nothing on a closed watcher.
    public func stop() {
        guard !isClosing else { return }
        uv_signal_stop(typed(uv_signal_t.self))
    }

    /// The watched signal number, or 0 when stopped.
    public var signum: Int32 {
        isClosing ? 0 : typed(uv_signal_t.self).pointee.signum
    }

    override func didClose() {
        callback = nil
    }

    fileprivate func deliver(_ signum: Int32) {
        callback?(self, signum)
    }
}

private func uvSignalReceived(_ raw: UnsafeMutablePointer<uv_signal_t>?, _ signum: Int32) {
    UVHandle.from(raw, as: UVSignal.self).deliver(signum)
}
