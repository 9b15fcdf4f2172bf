import Foundation

/// Starting the queue's change signal for `JobHandle.wait`.
extension JobQueue {
    /// Starts the backend's change signal on the executor thread if no waiter has yet. Waiters do not wait
    /// for it: their first read is queued behind the start, and every waiter is woken once it runs.
    /// When the backend cannot watch, waiters rely on their poll.
    func startChangeSignalIfNeeded() {
        guard changes.claimStart() else { return }
        let backend = self.backend
        let changes = self.changes
        let logger = self.logger
        do {
            try executor.submit { _ in
                var signal: (any ChangeSignal)?
                do {
                    signal = try backend.makeChangeSignal()
                    try signal?.start { changes.fire() }
                } catch {
                    signal?.stop()
                    signal = nil
                    let message = ArgumentRedaction.redact(text: "\(error)")
                    logger.warning("no change signal for \(backend.displayName); waits poll instead: \(message)")
                }
                // The queue was closed while the signal started: nothing else will stop it.
                changes.started(signal)?.stop()
            }
        } catch {
            _ = changes.started(nil)
        }
    }
}
