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
    /// Attempts in all, 1...25 (the original's `retries`). 0 is taken as 1, "run once, never retry", which is
    /// what the original did with it: the value kept is 1, so a job never shows "1/0" attempts.
    public var maxAttempts: Int {
        didSet { maxAttempts = Self.attempts(maxAttempts) }
    }
    /// Milliseconds.
    public var timeout: Int
    public var timeoutBehavior: TimeoutBehavior
    public var retryStrategy: RetryStrategy
    public var resultPointer: String?
    /// While a job with this key is pending or running, enqueueing another returns that job instead (see
    /// `JobStore.enqueueReportingExisting`). Non-empty, at most `maxUniqueKeyBytes` bytes of UTF-8.
    public var uniqueKey: String?
    /// Milliseconds: a job with `uniqueKey` that finished (completed, failed or cancelled) within this long
    /// before the enqueue also counts as existing. Nil: only pending or running jobs hold the key.
    public var uniqueWindow: Int?

    public init(
        objectType: String, method: String, objectId: String? = nil, args: [String: JSONValue] = [:],
        queue: String = "default", priority: Int = Priority.normal.rawValue, runAt: Date? = nil,
        maxAttempts: Int = 3, timeout: Int = 300_000, timeoutBehavior: TimeoutBehavior = .fail,
        retryStrategy: RetryStrategy = .default, tenantId: String? = nil, resultPointer: String? = nil,
        uniqueKey: String? = nil, uniqueWindow: Int? = nil
    ) {
        self.tenantId = tenantId
        self.queue = queue
        self.objectType = objectType
        self.objectId = objectId
        self.method = method
        self.args = args
        self.runAt = runAt
        self.priority = priority
        self.maxAttempts = Self.attempts(maxAttempts)
        self.timeout = timeout
        self.timeoutBehavior = timeoutBehavior
        self.retryStrategy = retryStrategy
        self.resultPointer = resultPointer
        self.uniqueKey = uniqueKey
        self.uniqueWindow = uniqueWindow
    }

    /// `maxAttempts` as kept: 0 (no retry) is one attempt; anything else as given, for `validate()` to judge.
    public static func attempts(_ maxAttempts: Int) -> Int {
        maxAttempts == 0 ? 1 : maxAttempts
    }

    /// Checks what a store cannot repair later. Throws `SmrtJobsError.invalidValue` naming the field, or
    /// `SmrtJobsError.argsTooLarge` for args that would not fit the message a worker receives (see
    /// `maxRunMessageBytes`).
    public func validate() throws {
        if objectType.isEmpty { throw SmrtJobsError.invalidValue(field: "objectType", value: "", reason: "must not be empty") }
        if method.isEmpty { throw SmrtJobsError.invalidValue(field: "method", value: "", reason: "must not be empty") }
        if queue.isEmpty { throw SmrtJobsError.invalidValue(field: "queue", value: "", reason: "must not be empty") }
        if !(0...25).contains(maxAttempts) {
            throw SmrtJobsError.invalidValue(
                field: "retries", value: String(maxAttempts), reason: "must be between 0 and 25 attempts in all (0 = 1: run once)")
        }
        if timeout <= 0 {
            throw SmrtJobsError.invalidValue(field: "timeout", value: String(timeout), reason: "must be a positive number of milliseconds")
        }
        try validateUnique()
        try validateSize()
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
