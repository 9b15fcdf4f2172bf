import CLibUV

/// A readiness watcher on a file descriptor this process does not hand to libuv streams
/// (`uv_poll_t`), e.g. a database's or another library's socket. The descriptor stays owned by
/// the caller: closing the poll handle does not close it.
public final class UVPoll: UVHandle {
    /// Readiness conditions; mirrors `uv_poll_event`.
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: Int32(UV_READABLE.rawValue))
        public static let writable = Events(rawValue: Int32(UV_WRITABLE.rawValue))
        /// The peer closed its writing side (only reported if asked for).
        public static let disconnect = Events(rawValue: Int32(UV_DISCONNECT.rawValue))
        public static let prioritized = Events(rawValue: Int32(UV_PRIORITIZED.rawValue))
    }

    /// The watched descriptor.
    public let fd: Int32
    private var callback: ((UVPoll, Result<Events, UVError>) -> Void)?

    /// Creates a stopped watcher for `fd` (`uv_poll_init`; libuv makes `fd` non-blocking).
    public init(loop: UVLoop, fd: Int32) throws {
        self.fd = fd
        super.init(loop: loop, type: UV_POLL)
        try initialize("uv_poll_init") { uv_poll_init(loop.raw, typed(uv_poll_t.self), fd) }
    }

    /// Watches for `events` (`uv_poll_start`); calling again changes the set. Readiness is level-triggered.
    public func start(_ events: Events, _ callback: @escaping (UVPoll, Result<Events, UVError>) -> Void) throws {
        try requireOpen("uv_poll_start")
        self.callback = callback
        try UVError.check(uv_poll_start(typed(uv_poll_t.self), events.rawValue, uvPollReady), "uv_poll_start")
    }

    /// Stops watching. Does nothing on a closed watcher.
    public func stop() {
        guard !isClosing else { return }
        _ = uv_poll_stop(typed(uv_poll_t.self))
    }

    override func didClose() {
        callback = nil
    }

    fileprivate func ready(_ status: Int32, _ events: Int32) {
        if status < 0 {
            callback?(self, .failure(UVError(code: status, operation: "uv_poll")))
        } else {
            callback?(self, .success(Events(rawValue: events)))
        }
    }
}

private func uvPollReady(_ raw: UnsafeMutablePointer<uv_poll_t>?, _ status: Int32, _ events: Int32) {
    UVHandle.from(raw, as: UVPoll.self).ready(status, events)
}
