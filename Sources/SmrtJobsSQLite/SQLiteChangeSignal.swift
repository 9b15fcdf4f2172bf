import CSmrtShims
import Foundation
import SmrtJobs

#if canImport(Glibc)
import Glibc
#endif

/// SQLite's change signal: inotify on the database's directory (SQLite writes, and creates, its `-wal` file
/// there), confirmed with `PRAGMA data_version` on a connection of its own, which moves whenever another
/// connection commits.
///
/// A write to the WAL is seen when its first bytes land, before the transaction is visible (the commit is
/// published in the `-shm` index through mmap, which inotify does not report): a read that finds nothing new
/// is repeated `recheckDelaysMs` after the write, so a job committed a moment later is not left for the poll.
///
/// One thread per signal waits in `poll(2)` on the inotify descriptor and a pipe that carries `stop` and
/// `setActive`. While inactive the watch is removed, so commits cost the writers no inotify work.
public final class SQLiteChangeSignal: ChangeSignal, @unchecked Sendable {  // see the first comment below
    // `control` is shared under its lock; everything else is set in `start` and then used by the thread only.

    /// Delays after a write (ms) at which `data_version` is read again while the first read found nothing new.
    public static let recheckDelaysMs: [UInt64] = [2, 10]

    private struct Control {
        var active = true
        var activeChanged = false
        var started = false
        var stopRequested = false
    }

    private let path: String
    private let directory: String
    private let fileName: String
    private let control = Locked(Control())
    private let finished = DispatchSemaphore(value: 0)
    /// The pipe that wakes the thread: read end, write end.
    private var wakeFDs: (read: Int32, write: Int32) = (-1, -1)
    private var inotifyFD: Int32 = -1
    private var watchDescriptor: Int32 = -1
    private var connection: SQLiteConnection?
    private var onChange: (@Sendable () -> Void)?
    private var lastVersion: Int64?
    /// When to read `data_version` again (`DispatchTime` nanoseconds), soonest first.
    private var rechecks: [UInt64] = []

    public init(path: String) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        directory = url.deletingLastPathComponent().path
        fileName = url.lastPathComponent
    }

    public func start(onChange: @escaping @Sendable () -> Void) throws {
        let first = control.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopRequested
        }
        guard first else { return }
        do {
            // Only reads `data_version`: it neither creates the database nor changes its journal mode (the store
            // that opened it first did what its access allowed; a read-only tool's signal must change nothing).
            let connection = try SQLiteConnection(path: path, mode: .readWrite, busyTimeoutMs: 100)
            self.connection = connection
            lastVersion = try connection.scalarInt("PRAGMA data_version")
            inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard inotifyFD >= 0 else { throw Self.systemError("inotify_init1") }
            var ends: [Int32] = [-1, -1]
            guard csmrt_wake_pipe(&ends) == 0 else { throw Self.systemError("pipe2") }
            wakeFDs = (ends[0], ends[1])
            try watch(true)
        } catch {
            closeAll()
            control.withLock { $0.stopRequested = true }
            throw error
        }
        self.onChange = onChange
        let thread = Thread { [self] in
            run()
            closeAll()
            finished.signal()
        }
        thread.name = "smrt-sqlite-signal"
        thread.start()
    }

    public func setActive(_ active: Bool) {
        // Poked under the lock: the thread closes the pipe under it too, so a poke never hits a reused fd.
        control.withLock { state in
            guard state.active != active, state.started, !state.stopRequested else { return }
            state.active = active
            state.activeChanged = true
            poke()
        }
    }

    public func stop() {
        let running = control.withLock { state -> Bool in
            defer { state.stopRequested = true }
            guard state.started, !state.stopRequested else { return false }
            poke()
            return true
        }
        if running { finished.wait() }
    }

    // MARK: The thread

    private func run() {
        var fds = [pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFDs.read, events: Int16(POLLIN), revents: 0)]
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let timeout = rechecks.first.map { Int32(clamping: ($0 > now ? $0 - now + 999_999 : 0) / 1_000_000) } ?? -1
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, timeout)
            if ready < 0 && errno != EINTR { return }
            if fds[1].revents != 0 {
                var bytes = (0 as UInt64, 0 as UInt64)
                while read(wakeFDs.read, &bytes, 16) > 0 {}
                let (stop, activeChanged, active) = control.withLock { state in
                    defer { state.activeChanged = false }
                    return (state.stopRequested, state.activeChanged, state.active)
                }
                if stop { return }
                if activeChanged {
                    try? watch(active)
                    rechecks.removeAll()
                    // Something may have been committed while the watch was off.
                    if active { check(after: now) }
                }
            }
            if fds[0].revents != 0, drainWatchEvents() { check(after: now) }
            let due = DispatchTime.now().uptimeNanoseconds
            if let first = rechecks.first, first <= due {
                rechecks.removeAll { $0 <= due }
                if check() { rechecks.removeAll() }
            }
        }
    }

    /// Reads `data_version` after a write seen at `writeSeen`; schedules the re-reads when it has not moved.
    private func check(after writeSeen: UInt64) {
        guard !check() else {
            rechecks.removeAll()
            return
        }
        rechecks = Self.recheckDelaysMs.map { writeSeen + $0 * 1_000_000 }
    }

    /// Whether `data_version` moved (then `onChange` was called). A failed read counts as a change.
    @discardableResult
    private func check() -> Bool {
        let version = try? connection?.scalarInt("PRAGMA data_version")
        if let version, version == lastVersion { return false }
        lastVersion = version
        onChange?()
        return true
    }

    /// Reads every queued inotify event; whether one was about the database's files.
    private func drainWatchEvents() -> Bool {
        var relevant = false
        let size = 4096
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = read(inotifyFD, buffer, size)
            if count <= 0 { return relevant }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = offset + MemoryLayout<inotify_event>.size
                if event.len > 0 {
                    let name = String(cString: buffer.advanced(by: nameStart).assumingMemoryBound(to: CChar.self))
                    if name.hasPrefix(fileName) { relevant = true }
                } else {
                    relevant = true
                }
                offset = nameStart + Int(event.len)
            }
        }
    }

    private func watch(_ on: Bool) throws {
        if on, watchDescriptor < 0 {
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO)
            watchDescriptor = inotify_add_watch(inotifyFD, directory, mask)
            if watchDescriptor < 0 { throw Self.systemError("inotify_add_watch(\(directory))") }
        } else if !on, watchDescriptor >= 0 {
            inotify_rm_watch(inotifyFD, watchDescriptor)
            watchDescriptor = -1
        }
    }

    /// Wakes the thread. Call with `control` locked.
    private func poke() {
        guard wakeFDs.write >= 0 else { return }
        var one: UInt8 = 1
        _ = write(wakeFDs.write, &one, 1)
    }

    private func closeAll() {
        if inotifyFD >= 0 { close(inotifyFD) }
        inotifyFD = -1
        control.withLock { _ in
            if wakeFDs.read >= 0 { close(wakeFDs.read) }
            if wakeFDs.write >= 0 { close(wakeFDs.write) }
            wakeFDs = (-1, -1)
        }
        watchDescriptor = -1
        connection = nil
        onChange = nil
    }

    private static func systemError(_ call: String) -> SmrtJobsError {
        .database(kind: .other, message: "\(call): \(String(cString: strerror(errno)))")
    }
}
