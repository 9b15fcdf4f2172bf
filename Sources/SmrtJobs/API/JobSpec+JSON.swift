import Foundation

/// Why a JSON object could not be read as a job (see `JobSpec.init(jsonObject:lineNumber:now:)`).
public struct JobSpecDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of a JSON Lines file, when known.
    public var line: Int?
    /// The key at fault, when one is.
    public var key: String?
    /// What is wrong, e.g. `invalid priority 'urgent': expected critical, high, normal, low or an integer`.
    public var message: String

    public init(line: Int?, key: String?, message: String) {
        self.line = line
        self.key = key
        self.message = message
    }

    /// `line 3: invalid priority 'urgent': ...`, or the message alone without a line.
    public var description: String {
        guard let line else { return message }
        return "line \(line): \(message)"
    }
}

extension JobSpec {
    /// The keys a job object may have (`smrt-jobs enqueue --batch` reads one such object per line).
    ///
    /// - `objectType`, `method` (required): strings.
    /// - `objectId`: a string or an integer; absent or null for a static job.
    /// - `args`: a JSON object.
    /// - `queue`: a string.
    /// - `priority`: `critical`, `high`, `normal`, `low` or an integer (see `Priority.parse`).
    /// - `delay`: milliseconds as a number, or text such as `"5m"` (see `DelayParser`).
    /// - `runAt`: an ISO-8601 time (see `TimeParser.date`); not together with `delay`.
    /// - `retries`: attempts in all, 0...25 (the spec's `maxAttempts`; 0 runs once, like 1).
    /// - `timeout`: milliseconds as a number, or text such as `"10m"`.
    /// - `timeoutBehavior`: `fail`, `kill` or `warn`.
    /// - `uniqueKey`: a string (see `uniqueKey`); a job with a key already pending or running is not added again.
    /// - `uniqueWindow`: milliseconds as a number, or text such as `"1h"`; only with `uniqueKey`.
    public static let jsonKeys = [
        "objectType", "method", "objectId", "args", "queue", "priority", "delay", "runAt", "retries", "timeout",
        "timeoutBehavior", "uniqueKey", "uniqueWindow",
    ]

    /// Reads a job from a JSON object with the keys in `jsonKeys`, validating everything a store would
    /// (`validate()`), so a spec that comes out can be enqueued. Absent keys and nulls take the builder's
    /// defaults; a `delay` is resolved against `now`.
    ///
    /// ```swift
    /// let spec = try JobSpec(jsonObject: JSONValue.parseObject(#"{"objectType":"Doc","method":"render","delay":"5m"}"#))
    /// ```
    /// - Parameter lineNumber: the line of a JSON Lines file the object came from; errors name it.
    /// - Throws: `JobSpecDecodingError` naming the line, the key and the problem (an unknown key, a missing
    ///   `objectType`, `priority "urgent"`, `retries -3`, ...).
    public init(jsonObject object: [String: JSONValue], lineNumber: Int? = nil, now: Date = Date()) throws {
        func failure(_ key: String?, _ message: String) -> JobSpecDecodingError {
            JobSpecDecodingError(line: lineNumber, key: key, message: message)
        }
        func field<T>(_ key: String, _ body: (JSONValue) throws -> T) throws -> T? {
            guard let value = object[key], value != .null else { return nil }
            do {
                return try body(value)
            } catch let error as SmrtJobsError {
                throw failure(key, error.description)
            }
        }
        func invalid(_ key: String, _ value: JSONValue, _ reason: String) -> SmrtJobsError {
            .invalidValue(field: key, value: value.stringValue ?? value.jsonText, reason: reason)
        }
        func string(_ key: String) throws -> String? {
            try field(key) { value in
                guard let text = value.stringValue else { throw invalid(key, value, "expected a string") }
                return text
            }
        }
        func integer(_ key: String, _ value: JSONValue) throws -> Int {
            guard let n = value.intValue, let int = Int(exactly: n) else { throw invalid(key, value, "expected an integer") }
            return int
        }
        func milliseconds(_ key: String) throws -> Int? {
            try field(key) { value in
                if let text = value.stringValue { return try DelayParser.milliseconds(text, field: key) }
                guard value.doubleValue != nil else {
                    throw invalid(key, value, "expected a number of milliseconds or text such as \"5m\"")
                }
                let ms = try integer(key, value)
                guard ms >= 0 else { throw invalid(key, value, "must be zero or positive") }
                return ms
            }
        }

        let allowed = Set(Self.jsonKeys)
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw failure(unknown, "unknown key '\(unknown)' (expected \(Self.jsonKeys.joined(separator: ", ")))")
        }
        guard let objectType = try string("objectType") else { throw failure("objectType", "missing required key 'objectType'") }
        guard let method = try string("method") else { throw failure("method", "missing required key 'method'") }
        self.init(objectType: objectType, method: method)

        objectId = try field("objectId") { value in
            if let text = value.stringValue {
                guard !text.isEmpty else { throw invalid("objectId", value, "must not be empty (leave it out for a static job)") }
                return text
            }
            if let n = value.intValue, case .int = value { return String(n) }
            throw invalid("objectId", value, "expected a string or an integer")
        }
        args = try field("args") { value in
            guard let members = value.objectValue else {
                throw invalid("args", value, "expected a JSON object like {\"key\": \"value\"}")
            }
            return members
        } ?? [:]
        if let queue = try string("queue") {
            guard !queue.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw failure("queue", SmrtJobsError.invalidValue(field: "queue", value: queue, reason: "must not be empty").description)
            }
            self.queue = queue
        }
        if let priority = try field("priority", { value -> Int in
            if let text = value.stringValue { return try Priority.parse(text) }
            guard value.intValue != nil else {
                throw invalid("priority", value, "expected critical, high, normal, low or an integer")
            }
            return try integer("priority", value)
        }) {
            self.priority = priority
        }
        let delay = try milliseconds("delay")
        let runAt = try field("runAt") { value -> Date in
            guard let text = value.stringValue else {
                throw invalid("runAt", value, "expected an ISO-8601 time such as 2026-11-29T10:05:00Z")
            }
            return try TimeParser.date(text, field: "runAt")
        }
        if delay != nil, runAt != nil {
            throw failure("runAt", "delay and runAt cannot both be given")
        }
        if let delay { self.runAt = now.addingTimeInterval(Double(delay) / 1000) }
        if let runAt { self.runAt = runAt }
        if let retries = try field("retries", { try integer("retries", $0) }) { maxAttempts = Self.attempts(retries) }
        if let timeout = try milliseconds("timeout") { self.timeout = timeout }
        if let behavior = try field("timeoutBehavior", { value -> TimeoutBehavior in
            guard let text = value.stringValue, let behavior = TimeoutBehavior(rawValue: text.lowercased()) else {
                throw invalid("timeoutBehavior", value, "expected fail, kill or warn")
            }
            return behavior
        }) {
            timeoutBehavior = behavior
        }
        uniqueKey = try string("uniqueKey")
        uniqueWindow = try milliseconds("uniqueWindow")
        do {
            try validate()
        } catch let error as SmrtJobsError {
            var key: String?
            if case .invalidValue(let field, _, _) = error { key = field }
            if case .argsTooLarge = error { key = "args" }
            throw failure(key, error.description)
        }
    }
}
