#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals held back on the calling thread while the supervisor starts: one that arrives before the handlers are
/// installed (a TERM while the database opens) stays pending instead of killing the process with the default
/// action, and is handled as soon as `unblock()` runs after the handlers are in place. Threads started meanwhile
/// keep them blocked, so the loop thread receives them; workers start with an empty mask (see spawn.c).
struct BlockedSignals {
    private var set = sigset_t()
    private var blocked = false

    /// Blocks `numbers` on this thread (also when they already are).
    static func block(_ numbers: [Int32]) -> BlockedSignals {
        var mask = BlockedSignals()
        sigemptyset(&mask.set)
        for number in numbers { sigaddset(&mask.set, number) }
        mask.blocked = pthread_sigmask(SIG_BLOCK, &mask.set, nil) == 0
        return mask
    }

    /// Unblocks them on this thread (pending ones are delivered now). Safe to call more than once.
    mutating func unblock() {
        guard blocked else { return }
        blocked = false
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
