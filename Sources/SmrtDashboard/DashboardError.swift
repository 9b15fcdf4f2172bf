/// Why `smrt-dashboard` could not start: a usage error (exit 2) or a runtime failure (exit 1). Messages never
/// hold the token or a database password.
public enum DashboardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bad flag, listen address or token file.
    case usage(String)
    /// The database could not be opened, the port could not be bound, …
    case failure(String)

    public var description: String {
        switch self {
        case .usage(let message), .failure(let message): return message
        }
    }

    /// The exit code the command ends with.
    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .failure: return 1
        }
    }
}
