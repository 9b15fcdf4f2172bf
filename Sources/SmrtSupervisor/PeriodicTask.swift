/// A repeating loop timer for work that finishes later (a database round trip): a tick is skipped while the
/// previous one has not called `done`, so a slow database never piles up requests.
final class PeriodicTask {
    private let timer: UVTimer
    private var inFlight = false

    init(loop: UVLoop) throws {
        timer = try UVTimer(loop: loop)
    }

    /// Runs `tick` after `firstAfterMs`, then every `everyMs`; `tick` calls its argument when its work is done.
    func start(firstAfterMs: UInt64, everyMs: UInt64, _ tick: @escaping (_ done: @escaping () -> Void) -> Void) throws {
        try timer.start(timeoutMs: firstAfterMs, repeatMs: everyMs) { [unowned self] _ in
            guard !inFlight else { return }
            inFlight = true
            tick { [unowned self] in inFlight = false }
        }
    }

    func stop() {
        timer.stop()
    }

    func close() {
        timer.close()
    }
}
