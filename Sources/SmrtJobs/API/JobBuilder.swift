import Foundation

/// Builds a job step by step; nothing is written until `enqueue()`.
///
/// ```swift
/// let handle = try await doc.background("generateSummary", args: ["format": "md"])
///     .delay("5m").priority("high").retries(5).queue("analysis").timeout(600_000)
///     .enqueue()
/// ```
/// Each step that takes user input validates it at once and throws `SmrtJobsError.invalidValue`
/// naming the problem. Synchronous code (a command line, a supervisor thread) passes
/// `resolvedSpec(now:)` to a `JobStore` instead of calling `enqueue()`.
public struct JobBuilder: Sendable {
    /// What will be inserted. Inspect it, or pass it to `JobStore.enqueue(batch:)`.
    public private(set) var spec: JobSpec
    /// Where `enqueue()` inserts the job.
    public let queue: JobQueue
    private var delayMs: Int?

    public init(queue: JobQueue, objectType: String, method: String, objectId: String? = nil,
                args: [String: JSONValue] = [:]) {
        self.queue = queue
        self.spec = JobSpec(objectType: objectType, method: method, objectId: objectId, args: args)
    }

    /// Run no sooner than `ms` milliseconds after enqueue.
    public func delay(_ ms: Int) throws -> JobBuilder {
        guard ms >= 0 else {
            throw SmrtJobsError.invalidValue(field: "delay", value: String(ms), reason: "must be zero or positive")
        }
        var copy = self
        copy.delayMs = ms
        copy.spec.runAt = nil
        return copy
    }

    /// `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, or a number of milliseconds as text.
    public func delay(_ text: String) throws -> JobBuilder {
        try delay(DelayParser.milliseconds(text))
    }

    public func delay(_ duration: Duration) throws -> JobBuilder {
        try delay(DelayParser.milliseconds(duration))
    }

    /// Run at (or after) a point in time. Replaces any delay.
    public func runAt(_ date: Date) -> JobBuilder {
        var copy = self
        copy.spec.runAt = date
        copy.delayMs = nil
        return copy
    }

    public func priority(_ priority: Priority) -> JobBuilder {
        self.priority(priority.rawValue)
    }

    /// Any integer; higher runs sooner.
    public func priority(_ value: Int) -> JobBuilder {
        var copy = self
        copy.spec.priority = value
        return copy
    }

    /// critical, high, normal, low, or an integer as text. Unknown names are an error.
    public func priority(_ text: String) throws -> JobBuilder {
        priority(try Priority.parse(text))
    }

    /// How many attempts in all (0...25), as in the original where maxAttempts = retries: 3 runs a job up to
    /// three times; 0 and 1 both run it once and never retry (kept as `maxAttempts` 1).
    public func retries(_ count: Int) throws -> JobBuilder {
        guard (0...25).contains(count) else {
            throw SmrtJobsError.invalidValue(
                field: "retries", value: String(count), reason: "must be between 0 and 25 attempts in all (0 = 1: run once)")
        }
        var copy = self
        copy.spec.maxAttempts = JobSpec.attempts(count)
        return copy
    }

    public func queue(_ name: String) throws -> JobBuilder {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SmrtJobsError.invalidValue(field: "queue", value: name, reason: "must not be empty")
        }
        var copy = self
        copy.spec.queue = name
        return copy
    }

    /// Milliseconds; must be positive.
    public func timeout(_ ms: Int) throws -> JobBuilder {
        guard ms > 0 else {
            throw SmrtJobsError.invalidValue(field: "timeout", value: String(ms), reason: "must be a positive number of milliseconds")
        }
        var copy = self
        copy.spec.timeout = ms
        return copy
    }

    public func timeout(_ duration: Duration) throws -> JobBuilder {
        try timeout(DelayParser.milliseconds(duration, field: "timeout"))
    }

    public func timeoutBehavior(_ behavior: TimeoutBehavior) -> JobBuilder {
        var copy = self
        copy.spec.timeoutBehavior = behavior
        return copy
    }

    /// fail, kill or warn.
    public func timeoutBehavior(_ text: String) throws -> JobBuilder {
        guard let behavior = TimeoutBehavior(rawValue: text.lowercased()) else {
            throw SmrtJobsError.invalidValue(field: "timeoutBehavior", value: text, reason: "expected fail, kill or warn")
        }
        return timeoutBehavior(behavior)
    }

    public func retryStrategy(_ strategy: RetryStrategy) -> JobBuilder {
        var copy = self
        copy.spec.retryStrategy = strategy
        return copy
    }

    public func tenant(_ tenantId: String?) -> JobBuilder {
        var copy = self
        copy.spec.tenantId = tenantId
        return copy
    }

    public func resultPointer(_ pointer: String?) -> JobBuilder {
        var copy = self
        copy.spec.resultPointer = pointer
        return copy
    }

    /// At most one pending or running job with `key`: while one exists, `enqueue()` returns its handle (with
    /// `existing` true) instead of inserting another. With `window`, a job with the key that finished (completed,
    /// failed or cancelled) within that long before the enqueue counts too.
    ///
    /// ```swift
    /// try await doc.background("reindex").unique("reindex:\(doc.id)", for: .hours(1)).enqueue()
    /// ```
    /// - Throws: `SmrtJobsError.invalidValue` naming `uniqueKey` (empty, over 255 bytes) or `uniqueWindow`.
    public func unique(_ key: String, for window: JobDuration? = nil) throws -> JobBuilder {
        var copy = self
        copy.spec.uniqueKey = key
        copy.spec.uniqueWindow = try window?.toMilliseconds(field: "uniqueWindow")
        try copy.spec.validateUnique()
        return copy
    }

    /// The spec as it would be inserted at `now` (delay resolved to a run time).
    public func resolvedSpec(now: Date = Date()) -> JobSpec {
        var resolved = spec
        if let delayMs { resolved.runAt = now.addingTimeInterval(Double(delayMs) / 1000) }
        return resolved
    }

    /// Inserts the job (on the queue's executor thread) and returns its handle.
    @discardableResult
    public func enqueue(now: Date = Date()) async throws -> JobHandle {
        try await queue.enqueue(resolvedSpec(now: now), now: now)
    }
}

extension JobBuilder {
    /// The options of `bg`, each applied (and checked) when given.
    func with(
        queue: String?, priority: JobPriority?, delay: JobDuration?, retries: Int?, timeout: JobDuration?,
        uniqueKey: String? = nil
    ) throws -> JobBuilder {
        var builder = self
        if let uniqueKey { builder = try builder.unique(uniqueKey) }
        if let queue { builder = try builder.queue(queue) }
        if let priority { builder = builder.priority(try priority.value()) }
        if let delay { builder = try builder.delay(delay.toMilliseconds(field: "delay")) }
        if let retries { builder = try builder.retries(retries) }
        if let timeout { builder = try builder.timeout(timeout.toMilliseconds(field: "timeout")) }
        return builder
    }
}
