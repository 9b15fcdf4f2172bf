/// Why a job could not be run at all. These failures are final: the job is failed at once, not retried,
/// because another attempt would meet the same problem.
public enum JobExecutionError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownObjectType(String)
    case methodNotFound(type: String, method: String)
    case targetNotFound(type: String, id: String)
    case invalidArguments(type: String, method: String, reason: String)
    case resultTooLarge(bytes: Int, limit: Int)
    case resultNotEncodable(type: String, method: String, reason: String)

    public var description: String {
        switch self {
        case .unknownObjectType(let type): return "Unknown object type: \(type)"
        case .methodNotFound(let type, let method): return "Method not found: \(type).\(method)"
        case .targetNotFound(let type, let id): return "Object-bound job target not found: \(type)#\(id)"
        case .invalidArguments(let type, let method, let reason):
            return "Invalid arguments for \(type).\(method): \(reason)"
        case .resultTooLarge(let bytes, let limit):
            return "Result too large: \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .resultNotEncodable(let type, let method, let reason):
            return "Result of \(type).\(method) is not encodable as JSON: \(reason)"
        }
    }
}
