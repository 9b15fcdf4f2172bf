/// The fields of a RUN message: one attempt of one job.
public struct RunRequest: Equatable, Sendable {
    /// The job's id (`u64` on the wire, the bit pattern of this value).
    public var jobId: Int64
    /// Which attempt this is, starting at 1.
    public var attempt: UInt32
    /// When the supervisor will act on the job's timeout, in milliseconds since the Unix epoch; 0 = none.
    public var deadlineMillis: UInt64
    /// The registered type that serves the job.
    public var objectType: String
    /// The object of an object-bound job; nil for a static job.
    public var objectId: String?
    public var method: String
    /// The job's args as JSON object text, reserved keys (`_agentConfig`, `_scheduleId`) included.
    public var argsJSON: String

    public init(
        jobId: Int64, attempt: UInt32 = 1, deadlineMillis: UInt64 = 0, objectType: String,
        objectId: String? = nil, method: String, argsJSON: String = "{}"
    ) {
        self.jobId = jobId
        self.attempt = attempt
        self.deadlineMillis = deadlineMillis
        self.objectType = objectType
        self.objectId = objectId
        self.method = method
        self.argsJSON = argsJSON
    }
}
