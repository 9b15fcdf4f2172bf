import Foundation

/// How long finished jobs are kept before a supervisor prunes them, per terminal status; nil keeps them forever.
///
/// Written as `completed=7d,cancelled=7d,failed=30d` (the defaults; a status left out keeps its default; `never`
/// keeps that status forever; durations as everywhere: `500ms`, `30s`, `5m`, `2h`, `7d`).
public struct RetentionPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Milliseconds each status is kept after it finished (`completedAt`), or nil: forever.
    public var completedMs: Int?
    public var failedMs: Int?
    public var cancelledMs: Int?

    public init(completedMs: Int?, failedMs: Int?, cancelledMs: Int?) {
        self.completedMs = completedMs
        self.failedMs = failedMs
        self.cancelledMs = cancelledMs
    }

    /// Completed and cancelled jobs for 7 days, failed ones for 30 (long enough to look at and retry).
    public static let standard = RetentionPolicy(completedMs: 7 * day, failedMs: 30 * day, cancelledMs: 7 * day)
    /// Nothing is ever pruned.
    public static let keepEverything = RetentionPolicy(completedMs: nil, failedMs: nil, cancelledMs: nil)

    private static let day = 86_400_000

    /// Parses `completed=7d,failed=never,…`; statuses not named keep the standard policy's value.
    ///
    /// - Throws: `SmrtJobsError.invalidValue` (field `retain`) naming the part that is wrong.
    public init(parsing text: String) throws {
        self = .standard
        var seen: Set<String> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            guard pair.count == 2 else {
                throw SmrtJobsError.invalidValue(
                    field: "retain", value: String(part), reason: "expected STATUS=DURATION, e.g. completed=7d or failed=never")
            }
            guard ["completed", "failed", "cancelled"].contains(key) else {
                throw SmrtJobsError.invalidValue(
                    field: "retain", value: String(part), reason: "unknown status '\(key)': expected completed, failed or cancelled")
            }
            guard seen.insert(key).inserted else {
                throw SmrtJobsError.invalidValue(field: "retain", value: text, reason: "'\(key)' is given twice")
            }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            let ms = value == "never" ? nil : try DelayParser.milliseconds(value, field: "retain \(key)")
            switch key {
            case "completed": completedMs = ms
            case "failed": failedMs = ms
            default: cancelledMs = ms
            }
        }
    }

    /// Whether anything is ever pruned.
    public var prunes: Bool { completedMs != nil || failedMs != nil || cancelledMs != nil }

    /// What to delete at `now`, at most `limit` jobs; nil when nothing is ever pruned.
    public func cleanupOptions(now: Date, limit: Int) -> CleanupOptions? {
        guard prunes else { return nil }
        func cutoff(_ ms: Int?) -> Date? { ms.map { now.addingTimeInterval(-Double($0) / 1000) } }
        return CleanupOptions(
            completedBefore: cutoff(completedMs), failedBefore: cutoff(failedMs), cancelledBefore: cutoff(cancelledMs),
            limit: limit)
    }

    public var description: String {
        func text(_ ms: Int?) -> String {
            guard let ms else { return "never" }
            for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms > 0 && ms % size == 0 {
                return "\(ms / size)\(unit)"
            }
            return "\(ms)ms"
        }
        return "completed=\(text(completedMs)),failed=\(text(failedMs)),cancelled=\(text(cancelledMs))"
    }
}
