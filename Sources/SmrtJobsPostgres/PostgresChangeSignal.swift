import CLibPQ
import Foundation
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PostgreSQL's change signal: LISTEN on the queue's channel (see `PostgresSchema.channel(forSchema:)`) on a
/// connection of its own. Stores send one `pg_notify` per transaction that may make a job claimable or end one.
///
/// One thread per signal waits in `poll(2)` on the connection's socket and an eventfd that carries `stop` and
/// `setActive`; each wake-up drains every queued notification and calls `onChange` once. A lost connection is
/// reconnected with back-off (100 ms doubling to 5 s), then a change is reported: notifications sent while it
/// was away are gone. While inactive the signal keeps listening (cheap) but does not call `onChange`; resuming
/// reports a change when one arrived meanwhile.
public final class PostgresChangeSignal: ChangeSignal, @unchecked Sendable {  // thread state is the thread's; `control` is locked
    public let settings: PostgresSettings

    private struct Control {
        var started = false
        var stopRequested = false
        var active = true
        var activeChanged = false
    }

    private let control = Locked(Control())
    private let finished = DispatchSemaphore(value: 0)
    /// The eventfd that wakes the thread.
    private var wakeFD: Int32 = -1
    // Owned by the thread once started.
    private var connection: PostgresConnection?
    private var onChange: (@Sendable () -> Void)?
    private var missed = false
    private var reconnectDelayMs: Int32 = 0

    public init(settings: PostgresSettings) {
        self.settings = settings
    }

    /// Connects and listens before returning; throws when the server cannot be reached (callers then poll).
    public func start(onChange: @escaping @Sendable () -> Void) throws {
        let first = control.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopRequested
        }
        guard first else { return }
        do {
            connection = try listen()
            let fd = cpq_wake_fd()
            guard fd >= 0 else {
                throw SmrtJobsError.database(kind: .other, message: "eventfd: \(String(cString: strerror(errno)))")
            }
            wakeFD = fd
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
        thread.name = "smrt-pg-signal"
        thread.start()
    }

    public func setActive(_ active: Bool) {
        // Poked under the lock: the thread closes the eventfd under it too, so a poke never hits a reused fd.
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

    /// A new connection listening on the queue's channel.
    private func listen() throws -> PostgresConnection {
        let connection = try PostgresConnection(settings: settings)
        let location = try PostgresSchema.locate(connection)
        let channel = PostgresSchema.channel(forSchema: location.schema)
        try connection.exec("LISTEN \(PostgresSchema.quoteIdentifier(channel))")
        return connection
    }

    // MARK: The thread

    private func run() {
        var active = true
        while true {
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            if let connection { fds.append(pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)) }
            let timeout: Int32 = connection == nil ? reconnectDelayMs : -1
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { return }
            if fds[0].revents != 0 {
                var count: UInt64 = 0
                _ = read(wakeFD, &count, 8)
                let (stop, activeChanged, nowActive) = control.withLock { state in
                    defer { state.activeChanged = false }
                    return (state.stopRequested, state.activeChanged, state.active)
                }
                if stop { return }
                if activeChanged {
                    active = nowActive
                    if active && missed {
                        missed = false
                        onChange?()
                    }
                }
            }
            if connection != nil, fds.count > 1, fds[1].revents != 0 {
                if drainNotifications() { report(active) }
            } else if connection == nil, ready == 0 {
                reconnect(active)
            }
        }
    }

    /// Reads what the server sent; whether a notification came. A lost connection is dropped here.
    private func drainNotifications() -> Bool {
        guard let connection else { return false }
        var notified = false
        if PQconsumeInput(connection.handle) == 0 || PQstatus(connection.handle) == CONNECTION_BAD {
            lose()
            return false
        }
        while let notification = PQnotifies(connection.handle) {
            notified = true
            PQfreemem(notification)
        }
        return notified
    }

    private func lose() {
        connection = nil
        reconnectDelayMs = 0
    }

    private func reconnect(_ active: Bool) {
        do {
            connection = try listen()
            reconnectDelayMs = 0
            // Notifications sent while the connection was away are lost: something may have changed.
            report(active)
        } catch {
            reconnectDelayMs = reconnectDelayMs == 0 ? 100 : min(reconnectDelayMs * 2, 5000)
        }
    }

    private func report(_ active: Bool) {
        if active {
            onChange?()
        } else {
            missed = true
        }
    }

    /// Wakes the thread. Call with `control` locked.
    private func poke() {
        guard wakeFD >= 0 else { return }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func closeAll() {
        control.withLock { _ in
            if wakeFD >= 0 { close(wakeFD) }
            wakeFD = -1
        }
        connection = nil
        onChange = nil
    }
}
