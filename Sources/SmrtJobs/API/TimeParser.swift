import Foundation

/// Parses points in time written by people: ISO-8601 times, and ages such as `7d` for cleanup cutoffs.
public enum TimeParser {
    /// An ISO-8601 time: `2026-11-29T10:05:00Z`, with an optional fraction (`10:05:00.250Z`), with an offset
    /// instead of `Z` (`2026-11-29T11:05:00+01:00`), without a zone (read as UTC), or a date alone
    /// (`2026-11-29`, midnight UTC).
    ///
    /// - Throws: `SmrtJobsError.invalidValue` naming `field` and the text (`"yesterday"`, `"2026-02-31"`).
    public static func date(_ text: String, field: String = "time") throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Foundation reads `+99:00` as 99 hours (and `+00:99` as 99 minutes): an offset is checked first.
        if let offset = utcOffset(trimmed), !offset.valid {
            throw SmrtJobsError.invalidValue(
                field: field, value: text,
                reason: "UTC offset \(offset.text) is out of range (±hh:mm with hours 00-23 and minutes 00-59, e.g. +01:00)")
        }
        if hasValidCalendarDate(trimmed), let date = parseUTC(trimmed) ?? parseWithOffset(trimmed) { return date }
        throw SmrtJobsError.invalidValue(
            field: field, value: text, reason: "expected an ISO-8601 time such as 2026-11-29T10:05:00Z")
    }

    /// A cutoff for age-based cleanup: an age (`"7d"`, `"12h"`, `"30m"`, `"500"` ms; see `DelayParser`) meaning
    /// that long before `now`, or an ISO-8601 time (see `date(_:field:)`).
    ///
    /// - Throws: `SmrtJobsError.invalidValue` naming `field` and the text.
    public static func cutoff(_ text: String, now: Date = Date(), field: String) throws -> Date {
        if let ms = try? DelayParser.milliseconds(text, field: field) {
            return now.addingTimeInterval(-Double(ms) / 1000)
        }
        if let date = try? date(text, field: field) { return date }
        throw SmrtJobsError.invalidValue(
            field: field, value: text,
            reason: "expected an age such as 7d, 12h or 30m, or an ISO-8601 time such as 2026-11-29T10:05:00Z")
    }

    /// The `+hh:mm`, `+hhmm` or `+hh` (or `-`) after the time of day, if the text ends with one, and whether it
    /// is a real offset (RFC 3339: hours 00-23, minutes 00-59).
    private static func utcOffset(_ text: String) -> (text: String, valid: Bool)? {
        guard let t = text.firstIndex(where: { $0 == "T" || $0 == "t" || $0 == " " }),
            let sign = text[t...].lastIndex(where: { $0 == "+" || $0 == "-" })
        else { return nil }
        let offset = text[sign...]
        let digits = offset.dropFirst().filter { $0 != ":" }
        // Anything not shaped like an offset is left to the parsers, which reject it with the general message.
        guard offset.dropFirst().allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == ":" }), digits.count == 2 || digits.count == 4,
            let hours = Int(digits.prefix(2)), let minutes = digits.count == 4 ? Int(digits.suffix(2)) : 0
        else { return nil }
        return (String(offset), hours <= 23 && minutes <= 59)
    }

    /// Whether the text starts with a real `YYYY-MM-DD` (no February 31): the parsers would roll it over.
    private static func hasValidCalendarDate(_ text: String) -> Bool {
        let parts = text.prefix(10).split(separator: "-", omittingEmptySubsequences: false)
        guard text.count >= 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]), (1...12).contains(month)
        else { return false }
        return day >= 1 && day <= CronExpression.daysIn(year: year, month: month)
    }

    /// The stored form and its relatives (`Timestamp.parse`), checked by formatting back, so that
    /// impossible dates such as February 31 are rejected instead of rolling over.
    private static func parseUTC(_ text: String) -> Date? {
        var candidate = text
        if candidate.count == 10 { candidate += "T00:00:00" }  // date alone
        guard let date = Timestamp.parse(candidate) else { return nil }
        let canonical = candidate.replacingOccurrences(of: " ", with: "T")
        guard Timestamp.format(date).prefix(19) == canonical.prefix(19) else { return nil }
        return date
    }

    /// `2026-11-29T11:05:00+01:00` and `2026-11-29T11:05:00.5-05:00`.
    private static func parseWithOffset(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
