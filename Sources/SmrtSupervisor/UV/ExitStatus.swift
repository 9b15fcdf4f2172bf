#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child process ended. Exit code and terminating signal are kept apart (as libuv reports
/// them), so "exited with 11" and "killed by SIGSEGV" are never confused.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// The process called `exit` (or returned from `main`) with this code.
    case exited(code: Int64)
    /// The process was terminated by this signal.
    case signaled(signal: Int32)

    /// Whether the process exited with code 0.
    public var isSuccess: Bool { self == .exited(code: 0) }

    /// `"exited with code 3"` or `"killed by signal 11 (SIGSEGV)"`.
    public var description: String {
        switch self {
        case .exited(let code):
            return "exited with code \(code)"
        case .signaled(let signal):
            if let name = Self.signalName(signal) {
                return "killed by signal \(signal) (\(name))"
            }
            return "killed by signal \(signal)"
        }
    }

    /// The conventional name of a signal number on this platform (`"SIGSEGV"`), or nil if unknown.
    public static func signalName(_ signal: Int32) -> String? {
        signalNames.first { $0.0 == signal }?.1
    }

    private static let signalNames: [(Int32, String)] = {
        var names: [(Int32, String)] = [
            (SIGHUP, "SIGHUP"), (SIGINT, "SIGINT"), (SIGQUIT, "SIGQUIT"), (SIGILL, "SIGILL"),
            (SIGTRAP, "SIGTRAP"), (SIGABRT, "SIGABRT"), (SIGBUS, "SIGBUS"), (SIGFPE, "SIGFPE"),
            (SIGKILL, "SIGKILL"), (SIGUSR1, "SIGUSR1"), (SIGSEGV, "SIGSEGV"), (SIGUSR2, "SIGUSR2"),
            (SIGPIPE, "SIGPIPE"), (SIGALRM, "SIGALRM"), (SIGTERM, "SIGTERM"), (SIGCHLD, "SIGCHLD"),
            (SIGCONT, "SIGCONT"), (SIGSTOP, "SIGSTOP"), (SIGTSTP, "SIGTSTP"), (SIGTTIN, "SIGTTIN"),
            (SIGTTOU, "SIGTTOU"), (SIGURG, "SIGURG"), (SIGXCPU, "SIGXCPU"), (SIGXFSZ, "SIGXFSZ"),
            (SIGVTALRM, "SIGVTALRM"), (SIGPROF, "SIGPROF"), (SIGWINCH, "SIGWINCH"), (SIGIO, "SIGIO"),
            (SIGSYS, "SIGSYS"),
        ]
        #if os(Linux)
        names += [(SIGSTKFLT, "SIGSTKFLT"), (SIGPWR, "SIGPWR")]
        #endif
        return names
    }()
}
