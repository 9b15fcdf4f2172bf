import Foundation

/// Everything needed to insert a new job. `JobBuilder` produces these; stores persist them.
public struct JobSpec: Sendable, Equatable {
    public var tenantId: String?
    public var queue: String
    public var objectType: String
    public var objectId: String?
    public var method: String
    public var args: [String: JSONValue]
    /// nil means "now" at enqueue time.
    public var runAt: Date?
    public var priority: Int
    public var maxAttempts: Int
    /// Milliseconds.
    public var timeout: Int
    public var timeoutBehavior: TimeoutBehavior
    public var retryStrategy: RetryStrategy
    public var resultPointer: String?

    public init(
        objectType: String, method: String, objectId: String? = nil, args: [String: JSONValue] = [:],
        queue: String = "default", priority: Int = Priority.normal.rawValue, runAt: Date? = nil,
        maxAttempts: Int = 3, timeout: Int = 300_000, timeoutBehavior: TimeoutBehavior = .fail,
        retryStrategy: RetryStrategy = .default, tenantId: String? = nil, resultPointer: String? = nil
    ) {
        self.tenantId = tenantId
        self.queue = queue
        self.objectType = objectType
        self.objectId = objectId
        self.method = method
        self.args = args
        self.runAt = runAt
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.timeoutBehavior = timeoutBehavior
        self.retryStrategy = retryStrategy
        self.resultPointer = resultPointer
    }

    /// Checks what a store cannot repair later. Throws `SmrtJobsError.invalidValue` naming the field.
    public func validate() throws {
        if objectType.isEmpty { throw SmrtJobsError.invalidValue(field: "objectType", value: "", reason: "must not be empty") }
        if method.isEmpty { throw SmrtJobsError.invalidValue(field: "method", value: "", reason: "must not be empty") }
        if queue.isEmpty { throw SmrtJobsError.invalidValue(field: "queue", value: "", reason: "must not be empty") }
        if !(0...25).contains(maxAttempts) {
            throw SmrtJobsError.invalidValue(field: "retries", value: String(maxAttempts), reason: "must be between 0 and 25")
        }
        if timeout <= 0 {
            throw SmrtJobsError.invalidValue(field: "timeout", value: String(timeout), reason: "must be a positive number of milliseconds")
        }
    }
}

/// Named priorities. Any integer is a valid priority; higher runs sooner.
public enum Priority: Int, Sendable, CaseIterable {
    case critical = 100
    case high = 75
    case normal = 50
    case low = 25

    /// Parses "critical", "high", "normal", "low" (any case) or an integer.
    /// Unlike the original, an unknown name is an error, not 50.
    public static func parse(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed.lowercased() {
        case "critical": return Priority.critical.rawValue
        case "high": return Priority.high.rawValue
        case "normal": return Priority.normal.rawValue
        case "low": return Priority.low.rawValue
        default:
            if let n = Int(trimmed) { return n }
            throw SmrtJobsError.invalidValue(
                field: "priority", value: text, reason: "expected critical, high, normal, low or an integer")
        }
    }
}
