import Foundation

/// The lifecycle state of a job.
///
/// `pending -> running (claim) -> completed | failed | pending (retry at a later runAt)`;
/// `cancelled` from pending, running or failed.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, completed, failed, cancelled

    /// completed, failed or cancelled.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// What happens when a job runs past its timeout.
public enum TimeoutBehavior: String, Codable, Sendable, CaseIterable {
    /// The attempt fails; under the supervisor the worker gets a cancel message and is killed after a grace.
    case fail
    /// The worker process is SIGKILLed at the deadline (needs `smrt-supervisor`; treated as `fail` in-process).
    case kill
    /// A warning is logged and emitted; the job runs on.
    case warn
}

/// A persisted background job: one row of `_smrt_jobs`.
///
/// Field names are the original's (camelCase here and in JSON, snake_case as columns).
public struct SmrtJob: Sendable, Equatable, Codable {
    public var id: Int64
    public var tenantId: String?
    public var queue: String
    public var objectType: String
    /// nil for a static job (the registry constructs the object).
    public var objectId: String?
    public var method: String
    public var args: [String: JSONValue]
    public var runAt: Date
    /// Higher runs sooner. Default 50.
    public var priority: Int
    public var status: JobStatus
    /// Incremented when the job is claimed.
    public var attempts: Int
    public var maxAttempts: Int
    /// Milliseconds.
    public var timeout: Int
    public var timeoutBehavior: TimeoutBehavior
    public var startedAt: Date?
    public var completedAt: Date?
    public var lastError: String?
    /// App-defined result location (a string the app interprets).
    public var resultPointer: String?
    /// The method's return value, as JSON.
    public var result: JSONValue?
    public var retryStrategy: RetryStrategy
    public var workerId: String?
    public var workerHeartbeat: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// The job's unique key (`JobSpec.uniqueKey`), if it was enqueued with one.
    public var uniqueKey: String?
    /// The latest progress the running (or last) attempt reported.
    public var progress: JobProgress?
    /// The worker process that ran the last finished attempt, when a supervisor ran it.
    public var workerPid: Int32?
    /// How that attempt's worker ended it, for people ("returned a result", "killed by signal 9", …).
    public var workerExit: String?

    public init(
        id: Int64, tenantId: String? = nil, queue: String = "default", objectType: String,
        objectId: String? = nil, method: String, args: [String: JSONValue] = [:], runAt: Date,
        priority: Int = 50, status: JobStatus = .pending, attempts: Int = 0, maxAttempts: Int = 3,
        timeout: Int = 300_000, timeoutBehavior: TimeoutBehavior = .fail, startedAt: Date? = nil,
        completedAt: Date? = nil, lastError: String? = nil, resultPointer: String? = nil,
        result: JSONValue? = nil, retryStrategy: RetryStrategy = .default, workerId: String? = nil,
        workerHeartbeat: Date? = nil, createdAt: Date, updatedAt: Date, uniqueKey: String? = nil,
        progress: JobProgress? = nil, workerPid: Int32? = nil, workerExit: String? = nil
    ) {
        self.id = id
        self.tenantId = tenantId
        self.queue = queue
        self.objectType = objectType
        self.objectId = objectId
        self.method = method
        self.args = args
        self.runAt = runAt
        self.priority = priority
        self.status = status
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.timeoutBehavior = timeoutBehavior
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.lastError = lastError
        self.resultPointer = resultPointer
        self.result = result
        self.retryStrategy = retryStrategy
        self.workerId = workerId
        self.workerHeartbeat = workerHeartbeat
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.uniqueKey = uniqueKey
        self.progress = progress
        self.workerPid = workerPid
        self.workerExit = workerExit
    }

    /// `Document#doc-123.generateSummary()`, or `Document.generateSummary()` for a static job.
    public var description: String {
        if let objectId { return "\(objectType)#\(objectId).\(method)()" }
        return "\(objectType).\(method)()"
    }

    /// The schedule that fired this job, if any (`_scheduleId` in args).
    public var scheduleId: Int64? { args[ReservedArgs.scheduleId]?.intValue }
}

/// Argument keys the runtime uses itself; they are stripped before the method sees its args.
public enum ReservedArgs {
    public static let agentConfig = "_agentConfig"
    public static let scheduleId = "_scheduleId"
    public static let all: Set<String> = [agentConfig, scheduleId]
}
