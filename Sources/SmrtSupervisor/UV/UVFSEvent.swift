import CLibUV

/// A file-system watcher (`uv_fs_event_t`; inotify on Linux).
///
/// Used to notice writes to a SQLite WAL file: watch the file itself, or its directory to also see
/// the WAL being created or replaced (then `filename` names the changed entry).
public final class UVFSEvent: UVHandle {
    /// What changed; mirrors `uv_fs_event`.
    public struct Events: OptionSet, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// An entry was renamed, created or deleted.
        public static let rename = Events(rawValue: Int32(UV_RENAME.rawValue))
        /// An entry's contents or metadata changed.
        public static let change = Events(rawValue: Int32(UV_CHANGE.rawValue))

        public var description: String {
            var names: [String] = []
            if contains(.rename) { names.append("rename") }
            if contains(.change) { names.append("change") }
            return "[" + names.joined(separator: ", ") + "]"
        }
    }

    /// One notification: the entry concerned (relative to the watched path; may be nil) and what happened.
    public struct Change: Sendable, Equatable {
        public var filename: String?
        public var events: Events
    }

    private var callback: ((UVFSEvent, Result<Change, UVError>) -> Void)?

    /// Creates a stopped watcher on `loop` (`uv_fs_event_init`).
    public init(loop: UVLoop) throws {
        super.init(loop: loop, type: UV_FS_EVENT)
        try initialize("uv_fs_event_init") { uv_fs_event_init(loop.raw, typed(uv_fs_event_t.self)) }
    }

    /// Starts watching `path` (`uv_fs_event_start`). `recursive` is not supported on Linux.
    /// A burst of writes may be reported as several notifications or fewer; treat each as
    /// "something changed, look again".
    public func start(
        path: String, recursive: Bool = false,
        _ callback: @escaping (UVFSEvent, Result<Change, UVError>) -> Void
    ) throws {
        try requireOpen("uv_fs_event_start")
        self.callback = callback
        let flags = recursive ? UInt32(UV_FS_EVENT_RECURSIVE.rawValue) : 0
        try UVError.check(
            uv_fs_event_start(typed(uv_fs_event_t.self), uvFSEventFired, path, flags), "uv_fs_event_start")
    }

    /// Stops watching. Does nothing on a closed watcher.
    public func stop() {
        guard !isClosing else { return }
        _ = uv_fs_event_stop(typed(uv_fs_event_t.self))
    }

    /// The watched path, or nil when not started.
    public var path: String? {
        guard !isClosing else { return nil }
        var size = 4096
        var buffer = [CChar](repeating: 0, count: size + 1)
        var rc = uv_fs_event_getpath(typed(uv_fs_event_t.self), &buffer, &size)
        if rc == UVError.Code.ENOBUFS {
            buffer = [CChar](repeating: 0, count: size + 1)
            rc = uv_fs_event_getpath(typed(uv_fs_event_t.self), &buffer, &size)
        }
        guard rc == 0 else { return nil }
        return String(decoding: buffer.prefix(size).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    override func didClose() {
        callback = nil
    }

    fileprivate func notify(_ filename: UnsafePointer<CChar>?, _ events: Int32, _ status: Int32) {
        if status < 0 {
            callback?(self, .failure(UVError(code: status, operation: "uv_fs_event")))
        } else {
            let change = Change(filename: filename.map { String(cString: $0) }, events: Events(rawValue: events))
            callback?(self, .success(change))
        }
    }
}

private func uvFSEventFired(
    _ raw: UnsafeMutablePointer<uv_fs_event_t>?, _ filename: UnsafePointer<CChar>?, _ events: Int32, _ status: Int32
) {
    UVHandle.from(raw, as: UVFSEvent.self).notify(filename, events, status)
}
