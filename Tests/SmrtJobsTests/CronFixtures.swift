import Foundation
@testable import SmrtJobs

/// Shared helpers for the cron tests: dates are written as ISO-8601 UTC literals such as
/// `2028-02-29T00:00:00Z` so that expected fire times read like a calendar.
enum CronFixtures {
    static func date(_ iso: String) -> Date {
        guard let date = Timestamp.parse(iso) else { fatalError("bad ISO literal in test: \(iso)") }
        return date
    }

    /// `2026-01-01T00:00:00Z`, dropping the milliseconds that `Timestamp.format` writes when they are zero.
    static func iso(_ date: Date) -> String {
        let text = Timestamp.format(date)
        return text.hasSuffix(".000Z") ? String(text.dropLast(5)) + "Z" : text
    }

    static func zone(_ name: String) -> TimeZone {
        guard let zone = TimeZone(identifier: name) else { fatalError("time zone \(name) missing on this host") }
        return zone
    }

    /// The next `count` fire times of `expression` after `after`, as ISO strings.
    static func fires(_ expression: String, after: String, count: Int = 1, in zone: String = "UTC") throws
        -> [String]
    {
        try CronExpression(parsing: expression)
            .nextDates(after: date(after), count: count, in: self.zone(zone))
            .map(iso)
    }

    /// The error thrown by parsing `expression`, or nil if it parsed.
    static func parseError(_ expression: String) -> SmrtJobsError? {
        do {
            _ = try CronExpression(parsing: expression)
            return nil
        } catch let error as SmrtJobsError {
            return error
        } catch {
            return nil
        }
    }
}
