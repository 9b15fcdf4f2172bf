import Foundation

/// Adds `bg()` and `background()` to a type, the Swift form of the original's `withBackgroundJobs` mixin.
///
/// ```swift
/// struct Document: BackgroundJobs {
///     let id: String
///     let jobStore: any JobStore
///     var jobObjectId: String? { id }
/// }
/// let handle = try doc.bg("generateSummary", args: ["format": "md"])
/// ```
/// The type must also be registered in the `ObjectRegistry` of the workers that run its jobs, under
/// `jobTypeName`.
public protocol BackgroundJobs {
    /// The name jobs use as `objectType`. Default: the type's name.
    static var jobTypeName: String { get }
    /// The id the registry loads the object by; nil (the default) gives static jobs.
    var jobObjectId: String? { get }
    /// Where this object's jobs are enqueued.
    var jobStore: any JobStore { get }
}

extension BackgroundJobs {
    public static var jobTypeName: String { String(describing: Self.self) }
    public var jobObjectId: String? { nil }

    /// A builder for `method` on this object; nothing is written until `enqueue()`.
    public func background(_ method: String, args: [String: JSONValue] = [:]) -> JobBuilder {
        JobBuilder(store: jobStore, objectType: Self.jobTypeName, method: method, objectId: jobObjectId, args: args)
    }

    /// A builder with arguments from any Encodable value that encodes as a JSON object.
    public func background<Args: Encodable>(_ method: String, arguments: Args) throws -> JobBuilder {
        guard let object = try JSONValueCoding.encode(arguments)?.objectValue else {
            throw SmrtJobsError.invalidValue(field: "args", value: "\(arguments)", reason: "must encode as a JSON object")
        }
        return background(method, args: object)
    }

    /// Enqueues `method` now with the common options and returns its handle.
    @discardableResult
    public func bg(
        _ method: String, args: [String: JSONValue] = [:], queue: String? = nil, priority: Int? = nil,
        delay: Duration? = nil, retries: Int? = nil, timeout: Int? = nil
    ) throws -> JobHandle {
        var builder = background(method, args: args)
        if let queue { builder = try builder.queue(queue) }
        if let priority { builder = builder.priority(priority) }
        if let delay { builder = try builder.delay(delay) }
        if let retries { builder = try builder.retries(retries) }
        if let timeout { builder = try builder.timeout(timeout) }
        return try builder.enqueue()
    }
}
