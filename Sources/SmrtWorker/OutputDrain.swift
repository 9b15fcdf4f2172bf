#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Protocol 4: before a job's result goes out, waits until the supervisor has read what the process wrote to stdout
/// and stderr (their pipes hold no unread byte). The next job begins right behind the result, and its output goes into
/// the same pipes; with the answered job's output already read, the supervisor can tell the two apart and log each line
/// with the job that wrote it (see docs/worker-protocol.md, §1).
enum OutputDrain {
    /// How long to wait at most: a supervisor that reads nothing for so long is frozen or gone (the watchdog or EOF
    /// ends the worker then); the result goes out anyway.
    static let maxWaitMicros = 1_000_000

    /// Returns at once when nothing is unread (the usual case: two `ioctl`s), or when stdout and stderr are not pipes.
    static func waitUntilRead() {
        var pauseMicros: UInt32 = 20
        var waited = 0
        while unreadBytes(STDOUT_FILENO) + unreadBytes(STDERR_FILENO) > 0 && waited < maxWaitMicros {
            usleep(pauseMicros)
            waited += Int(pauseMicros)
            pauseMicros = min(pauseMicros * 2, 1000)
        }
    }

    /// Bytes written to `fd` and not yet read by the other end (`FIONREAD`; 0 when `fd` is not a pipe or socket).
    private static func unreadBytes(_ fd: Int32) -> Int {
        var count: Int32 = 0
        guard withUnsafeMutablePointer(to: &count, { ioctl(fd, UInt(FIONREAD), $0) }) == 0 else { return 0 }
        return Int(max(0, count))
    }
}
