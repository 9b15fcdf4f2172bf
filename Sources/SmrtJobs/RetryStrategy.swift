import Foundation

/// How long to wait before the next attempt of a failed job. Persisted as `{"type": ..., "config": {...}}`.
public enum RetryStrategy: Sendable, Equatable {
    /// delay = initialDelay × multiplier^(attempt-1), capped at maxDelay, then ±25 % jitter when enabled.
    case exponential(initialDelay: Int = 1000, multiplier: Double = 2, maxDelay: Int = 300_000, jitter: Bool = true)
    /// A constant delay in milliseconds.
    case linear(delay: Int = 5000)
    /// Never retry: the first failure is final.
    case none

    /// The original's default: exponential, 1 s, ×2, capped at 5 min, with jitter.
    public static let `default` = RetryStrategy.exponential()

    /// The delay in milliseconds before retrying after failed attempt number `attempt` (1-based),
    /// or nil when this strategy does not retry.
    public func delay(afterAttempt attempt: Int, using random: inout some RandomNumberGenerator) -> Int? {
        switch self {
        case .none:
            return nil
        case .linear(let delay):
            return max(0, delay)
        case .exponential(let initialDelay, let multiplier, let maxDelay, let jitter):
            let raw = Double(initialDelay) * pow(multiplier, Double(max(0, attempt - 1)))
            var capped = min(raw.isFinite ? raw : Double(maxDelay), Double(maxDelay))
            if jitter {
                capped *= Double.random(in: 0.75...1.25, using: &random)
            }
            return max(0, Int(capped.rounded()))
        }
    }

    /// When a job that just failed its attempt should run again, or nil when it should fail for good
    /// (attempts used up, or the strategy does not retry).
    public func nextRunAt(
        after job: SmrtJob, now: Date = Date(), using random: inout some RandomNumberGenerator
    ) -> Date? {
        guard job.attempts < job.maxAttempts, let ms = delay(afterAttempt: job.attempts, using: &random) else {
            return nil
        }
        return now.addingTimeInterval(Double(ms) / 1000)
    }
}

extension RetryStrategy: Codable {
    private enum CodingKeys: String, CodingKey { case type, config }
    private enum ConfigKeys: String, CodingKey { case initialDelay, multiplier, maxDelay, jitter, delay }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        let config = try? c.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config)
        switch type {
        case "exponential":
            self = .exponential(
                initialDelay: try config?.decodeIfPresent(Int.self, forKey: .initialDelay) ?? 1000,
                multiplier: try config?.decodeIfPresent(Double.self, forKey: .multiplier) ?? 2,
                maxDelay: try config?.decodeIfPresent(Int.self, forKey: .maxDelay) ?? 300_000,
                jitter: try config?.decodeIfPresent(Bool.self, forKey: .jitter) ?? true)
        case "linear", "fixed":
            self = .linear(delay: try config?.decodeIfPresent(Int.self, forKey: .delay) ?? 5000)
        case "none":
            self = .none
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown retry strategy '\(type)' (expected exponential, linear or none)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var config = c.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config)
        switch self {
        case .exponential(let initialDelay, let multiplier, let maxDelay, let jitter):
            try c.encode("exponential", forKey: .type)
            try config.encode(initialDelay, forKey: .initialDelay)
            try config.encode(multiplier, forKey: .multiplier)
            try config.encode(maxDelay, forKey: .maxDelay)
            try config.encode(jitter, forKey: .jitter)
        case .linear(let delay):
            try c.encode("linear", forKey: .type)
            try config.encode(delay, forKey: .delay)
        case .none:
            try c.encode("none", forKey: .type)
        }
    }

    /// The persisted `{type, config}` form as a JSON value.
    public var jsonValue: JSONValue {
        switch self {
        case .exponential(let initialDelay, let multiplier, let maxDelay, let jitter):
            return ["type": "exponential", "config": [
                "initialDelay": .int(Int64(initialDelay)), "multiplier": .double(multiplier),
                "maxDelay": .int(Int64(maxDelay)), "jitter": .bool(jitter),
            ]]
        case .linear(let delay):
            return ["type": "linear", "config": ["delay": .int(Int64(delay))]]
        case .none:
            return ["type": "none", "config": [:]]
        }
    }

    /// Reads the persisted `{type, config}` form.
    public init(jsonValue: JSONValue) throws {
        let type = jsonValue["type"]?.stringValue
        let config = jsonValue["config"]?.objectValue ?? [:]
        func int(_ key: String, _ fallback: Int) -> Int { config[key]?.intValue.map(Int.init) ?? fallback }
        switch type {
        case "exponential":
            self = .exponential(
                initialDelay: int("initialDelay", 1000), multiplier: config["multiplier"]?.doubleValue ?? 2,
                maxDelay: int("maxDelay", 300_000), jitter: config["jitter"]?.boolValue ?? true)
        case "linear", "fixed":
            self = .linear(delay: int("delay", 5000))
        case "none":
            self = .none
        default:
            throw SmrtJobsError.invalidValue(
                field: "retryStrategy", value: type ?? jsonValue.jsonText, reason: "expected exponential, linear or none")
        }
    }
}
