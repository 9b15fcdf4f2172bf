/// Who reports an attempt: its own completion, its timeout, or `stop()` releasing it. The first to `settle()`
/// writes the outcome; the others write nothing.
final class AttemptState: Sendable {
    private let settled = Locked(false)

    /// True for the first caller only.
    func settle() -> Bool {
        settled.withLock { settled in
            defer { settled = true }
            return !settled
        }
    }

    var isSettled: Bool { settled.withLock { $0 } }
}
