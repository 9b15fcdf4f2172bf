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
