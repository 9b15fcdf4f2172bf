import SmrtJobs

/// Hides values under keys that look like secrets before job args reach a log line.
public enum ArgumentRedaction {
    /// Key fragments (compared case-insensitively, ignoring `-` and `_`) whose values are replaced.
    public static let secretKeyFragments = ["password", "passwd", "token", "secret", "authorization", "apikey", "credential"]
    public static let placeholder: JSONValue = "[REDACTED]"

    /// `args` with every secret-looking key's value replaced, at any depth.
    public static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members { out[key] = isSecret(key) ? placeholder : redact(member) }
            return .object(out)
        case .array(let items):
            return .array(items.map(redact))
        default:
            return value
        }
    }

    public static func isSecret(_ key: String) -> Bool {
        let normalized = key.lowercased().filter { $0 != "_" && $0 != "-" }
        return secretKeyFragments.contains { normalized.contains($0) }
    }
}
