/// Errors `Supervisor.run()` throws before or instead of running.
public enum SupervisorError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(option: String, reason: String)
    /// The first worker could not be started at all (missing program, no permission).
    case cannotStartWorker(command: String, reason: String)
    case database(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let option, let reason): return "invalid \(option): \(reason)"
        case .cannotStartWorker(let command, let reason): return "cannot start worker '\(command)': \(reason)"
        case .database(let message): return message
        }
    }
}
