import CLibUV

/// A libuv check handle (`uv_check_t`): runs its callback once per loop iteration, right after the loop
/// has polled for I/O and run the I/O callbacks. Useful to flush work gathered during one iteration in one
/// go. An active check handle does not stop the loop from sleeping (unlike an idle handle).
public final class UVCheck: UVHandle {
    private var callback: ((UVCheck) -> Void)?

    /// Creates a stopped check handle on `loop` (`uv_check_init`).
    public init(loop: UVLoop) throws {
        super.init(loop: loop, type: UV_CHECK)
        try initialize("uv_check_init") { uv_check_init(loop.raw, typed(uv_check_t.self)) }
    }

    /// Starts calling `callback` once per loop iteration (`uv_check_start`).
    public func start(_ callback: @escaping (UVCheck) -> Void) throws {
        try requireOpen("uv_check_start")
        self.callback = callback
        try UVError.check(uv_check_start(typed(uv_check_t.self), uvCheckRan), "uv_check_start")
    }

    /// Stops the callbacks. Does nothing on a closed handle.
    public func stop() {
        guard !isClosing else { return }
        uv_check_stop(typed(uv_check_t.self))
    }

    override func didClose() {
        callback = nil
    }

    fileprivate func run() {
        callback?(self)
    }
}

private func uvCheckRan(_ raw: UnsafeMutablePointer<uv_check_t>?) {
    UVHandle.from(raw, as: UVCheck.self).run()
}
