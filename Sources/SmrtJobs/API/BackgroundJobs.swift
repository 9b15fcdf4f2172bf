import Foundation

/// Adds `bg()` and `background()` to a type, the Swift form of the original's `withBackgroundJobs` mixin.
///
/// ```swift
/// struct Document: BackgroundJobs, Identifiable {
///     let id: String
///     let jobQueue: JobQueue
/// }
/// let handle = try await doc.bg("generateSummary", args: ["format": "md"], priority: "high", delay: "5m")
/// try await doc.background("generateSummary").delay("5m").priority("high").retries(5).enqueue()
/// ```
/// A type that is `Identifiable` gets object-bound jobs (`jobObjectId` is its `id` as text); any other type
/// gets static jobs unless it gives `jobObjectId` itself. The type must also be registered in the
/// `ObjectRegistry` of the workers that run its jobs, under `jobTypeName`.
public protocol BackgroundJobs {
    /// The name jobs use as `objectType`. Default: the type's name.
    static var jobTypeName: String { get }
    /// The id the registry loads the object by; nil gives static jobs (the registry constructs one).
    /// Default: the `id` of an `Identifiable` type as text, else nil.
    var jobObjectId: String? { get }
    /// Where this object's jobs are enqueued.
    var jobQueue: JobQueue { get }
}

extension BackgroundJobs {
    public static var jobTypeName: String { String(describing: Self.self) }
    public var jobObjectId: String? { nil }

    /// A builder for `method` on this object; nothing is written until `enqueue()`.
    public func background(_ method: String, args: [String: JSONValue] = [:]) -> JobBuilder {
        JobBuilder(queue: jobQueue, objectType: Self.jobTypeName, method: method, objectId: jobObjectId, args: args)
    }

    /// A builder with arguments from any Encodable value that encodes as a JSON object.
    public func background<Args: Encodable>(_ method: String, arguments: Args) throws -> JobBuilder {
        guard let object = try JSONValueCoding.encode(arguments)?.objectValue else {
            throw SmrtJobsError.invalidValue(field: "args", value: "\(arguments)", reason: "must encode as a JSON object")
        }
        return background(method, args: object)
    }

    /// Enqueues `method` now with the common options and returns its handle. The options take the builder's
    /// forms: `priority` a name or a number, `delay` and `timeout` milliseconds, text (`"5m"`) or a
    /// `Duration` (`.seconds(30)`). `uniqueKey` makes it a unique job (`JobBuilder.unique`): while a job with
    /// that key is pending or running, the handle is that job's, with `existing` true.
    ///
    /// - Throws: `SmrtJobsError.invalidValue` naming the first bad option (nothing is written), or what the
    ///   store throws.
    @discardableResult
    public func bg(
        _ method: String, args: [String: JSONValue] = [:], queue: String? = nil, priority: JobPriority? = nil,
        delay: JobDuration? = nil, retries: Int? = nil, timeout: JobDuration? = nil, uniqueKey: String? = nil,
        now: Date = Date()
    ) async throws -> JobHandle {
        try await background(method, args: args)
            .with(queue: queue, priority: priority, delay: delay, retries: retries, timeout: timeout, uniqueKey: uniqueKey)
            .enqueue(now: now)
    }

    /// `bg` with arguments from any Encodable value that encodes as a JSON object.
    @discardableResult
    public func bg<Args: Encodable>(
        _ method: String, arguments: Args, queue: String? = nil, priority: JobPriority? = nil,
        delay: JobDuration? = nil, retries: Int? = nil, timeout: JobDuration? = nil, uniqueKey: String? = nil,
        now: Date = Date()
    ) async throws -> JobHandle {
        try await background(method, arguments: arguments)
            .with(queue: queue, priority: priority, delay: delay, retries: retries, timeout: timeout, uniqueKey: uniqueKey)
            .enqueue(now: now)
    }
}

extension BackgroundJobs where Self: Identifiable {
    /// The object's `id` as text: its jobs are object-bound, and the registry loads it by this id.
    public var jobObjectId: String? { String(describing: id) }
}
