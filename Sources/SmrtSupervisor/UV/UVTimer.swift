import CLibUV

/// A libuv timer (`uv_timer_t`).
///
/// Timers count whole milliseconds from the loop's cached time (``UVLoop/now``) and have been seen
/// to fire up to 1 ms early; a deadline that must never fire early should compare
/// ``UVLoop/hrtimeNanos`` in the callback and re-arm for the remainder.
public final class UVTimer: UVHandle {
    private var callback: ((UVTimer) -> Void)?

    /// Creates a stopped timer on `loop` (`uv_timer_init`).
    public init(loop: UVLoop) throws {
        super.init(loop: loop, type: UV_TIMER)
        try initialize("uv_timer_init") { uv_timer_init(loop.raw, typed(uv_timer_t.self)) }
    }

    /// Starts (or restarts) the timer: `callback` runs on the loop thread after `timeoutMs`, then
    /// every `repeatMs` if that is non-zero (`uv_timer_start`).
    public func start(timeoutMs: UInt64, repeatMs: UInt64 = 0, _ callback: @escaping (UVTimer) -> Void) throws {
        try requireOpen("uv_timer_start")
        self.callback = callback
        try UVError.check(
            uv_timer_start(typed(uv_timer_t.self), uvTimerFired, timeoutMs, repeatMs), "uv_timer_start")
    }

    /// Stops the timer; the callback is kept for ``again()``. Does nothing on a closed timer.
    public func stop() {
        guard !isClosing else { return }
        uv_timer_stop(typed(uv_timer_t.self))
    }

    /// Restarts a repeating timer with its repeat interval as the timeout (`uv_timer_again`).
    /// Throws `EINVAL` if the timer was never started.
    public func again() throws {
        try requireOpen("uv_timer_again")
        try UVError.check(uv_timer_again(typed(uv_timer_t.self)), "uv_timer_again")
    }

    /// The repeat interval in milliseconds (0: one-shot); takes effect at the next expiry.
    public var repeatMs: UInt64 {
        get { isClosing ? 0 : uv_timer_get_repeat(typed(uv_timer_t.self)) }
        set { if !isClosing { uv_timer_set_repeat(typed(uv_timer_t.self), newValue) } }
    }

    /// Milliseconds until the timer fires, relative to the loop's cached time; 0 if it is not running.
    public var dueInMs: UInt64 {
        isClosing ? 0 : uv_timer_get_due_in(typed(uv_timer_t.self))
    }

    override func didClose() {
        callback = nil
    }

    fileprivate func fire() {
        callback?(self)
    }
}

private func uvTimerFired(_ raw: UnsafeMutablePointer<uv_timer_t>?) {
    UVHandle.from(raw, as: UVTimer.self).fire()
}
