/// One call to run: which registered type, which object, which method, with which arguments.
public struct Invocation: Sendable, Equatable {
    public var objectType: String
    /// nil for a static job: the registry constructs the object instead of loading it.
    public var objectId: String?
    public var method: String
    /// The job's args as stored, reserved keys (`_agentConfig`, `_scheduleId`) included.
    public var args: [String: JSONValue]

    public init(objectType: String, objectId: String? = nil, method: String, args: [String: JSONValue] = [:]) {
        self.objectType = objectType
        self.objectId = objectId
        self.method = method
        self.args = args
    }

    public init(job: SmrtJob) {
        self.init(objectType: job.objectType, objectId: job.objectId, method: job.method, args: job.args)
    }

    /// The args the method sees: reserved keys removed.
    public var methodArgs: [String: JSONValue] {
        args.filter { !ReservedArgs.all.contains($0.key) }
    }

    /// `_agentConfig`, which configures the constructed object.
    public var agentConfig: [String: JSONValue]? {
        args[ReservedArgs.agentConfig]?.objectValue
    }
}
