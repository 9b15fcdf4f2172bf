import Foundation

/// Ends the worker process when its supervisor goes quiet: each KEEPALIVE sets a deadline (`feed`), and a thread
/// of its own exits the process if the deadline passes without another. The supervisor feeds it only while its
/// lease is safely held, so a worker whose supervisor froze (SIGSTOP, a wedged host) or lost its lease stops its
/// job before another supervisor may take the job over. Not armed until the first KEEPALIVE: a supervisor that
/// sends none (protocol version 1) never triggers it.
final class Watchdog: @unchecked Sendable {  // `deadline` and `window` are guarded by `condition`
    private let condition = NSCondition()
    private var deadline: Date?
    private var window: TimeInterval = 0
    private let expired: @Sendable (_ window: TimeInterval) -> Void

    /// - Parameter expired: runs on the watchdog's thread when a deadline passes; it must end the process.
    init(expired: @escaping @Sendable (_ window: TimeInterval) -> Void) {
        self.expired = expired
    }

    /// The supervisor spoke: stop within `milliseconds` unless it speaks again. Starts the thread the first time.
    func feed(milliseconds: UInt32) {
        condition.lock()
        let first = deadline == nil
        window = Double(milliseconds) / 1000
        deadline = Date().addingTimeInterval(window)
        condition.signal()
        condition.unlock()
        if first {
            let thread = Thread { [self] in watch() }
            thread.name = "smrt-watchdog"
            thread.start()
        }
    }

    private func watch() {
        condition.lock()
        while true {
            guard let deadline else {
                condition.wait()
                continue
            }
            if Date() >= deadline {
                let window = window
                condition.unlock()
                expired(window)
                return
            }
            _ = condition.wait(until: deadline)
        }
    }
}
