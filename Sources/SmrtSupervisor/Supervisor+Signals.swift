import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals. libuv's handler only writes to a pipe; the callbacks below run later on the loop thread, where
/// they start the work (nothing runs in signal context).
///
/// TERM, INT: graceful stop (a second one: immediate). QUIT: immediate stop. HUP: rolling restart of the
/// workers. TTIN / TTOU: one worker more / less.
extension Supervisor {
    static let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU]

    /// Holds back the signals the supervisor handles, on the calling thread, until `run()` (on the same thread) has
    /// installed its handlers: a program's first statement, so that a TERM that comes while it parses its options or
    /// opens the database is a graceful stop rather than death by the default action.
    public static func holdSignalsUntilRunning() {
        _ = BlockedSignals.block(handledSignals)
    }

    func installSignalHandlers() throws {
        for number in Self.handledSignals {
            let watcher = try UVSignal(loop: loop)
            signalWatchers.append(watcher)
            try watcher.start(number) { [unowned self] _, number in received(number) }
        }
    }

    private func received(_ number: Int32) {
        let name = ExitStatus.signalName(number) ?? "signal \(number)"
        logger.info("received \(name)", metadata: ["event": "signal", "signal": .string(name)])
        switch number {
        case SIGTERM, SIGINT:
            if phase == .draining { stopNow() } else { stopGracefully() }
        case SIGQUIT:
            stopNow()
        case SIGHUP:
            if phase == .running { pool.rollingRestart() }
        case SIGTTIN:
            if phase == .running { pool.changeTarget(by: 1) }
        case SIGTTOU:
            if phase == .running { pool.changeTarget(by: -1) }
        default:
            break
        }
    }
}
