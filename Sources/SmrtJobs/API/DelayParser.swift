import Foundation

/// Parses delays and durations written by people: a number of milliseconds, or a number with a unit.
public enum DelayParser {
    /// `"500"` or `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"` → milliseconds.
    /// Throws `SmrtJobsError.invalidValue` naming the text for anything else (`"5x"`, `"-3s"`, `""`).
    public static func milliseconds(_ text: String, field: String = "delay") throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        let unit = trimmed.dropFirst(digits.count)
        let multiplier: Int
        switch unit {
        case "", "ms": multiplier = 1
        case "s": multiplier = 1000
        case "m": multiplier = 60_000
        case "h": multiplier = 3_600_000
        case "d": multiplier = 86_400_000
        default: multiplier = 0
        }
        guard !digits.isEmpty, multiplier > 0 else {
            throw SmrtJobsError.invalidValue(
                field: field, value: text,
                reason: "expected a number of milliseconds or a number with a unit ms, s, m, h or d (e.g. 500ms, 30s, 5m)")
        }
        // Well-formed but too large (also past Int): say so, with the maximum, rather than "expected a number".
        guard let value = Int(digits), case let (ms, overflow) = value.multipliedReportingOverflow(by: multiplier), !overflow,
            ms <= maxMilliseconds
        else {
            throw SmrtJobsError.invalidValue(
                field: field, value: text,
                reason: "too large: the maximum is \(maxMilliseconds) ms (\(maxMilliseconds / 86_400_000)d, about 100 years)")
        }
        return ms
    }

    /// Milliseconds of a Swift `Duration` (rounded down), rejecting negative values.
    public static func milliseconds(_ duration: Duration, field: String = "delay") throws -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0, seconds <= Int64(maxMilliseconds / 1000) else {
            throw SmrtJobsError.invalidValue(field: field, value: "\(duration)", reason: "must be zero or positive")
        }
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// About 100 years: far enough for any schedule, small enough to stay a valid date.
    static let maxMilliseconds = 100 * 365 * 86_400_000
}
