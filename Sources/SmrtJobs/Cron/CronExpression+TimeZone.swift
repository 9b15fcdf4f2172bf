import Foundation

extension CronExpression {
    /// The IANA time zone `name` (`Europe/Berlin`, `America/New_York`); `UTC` in any letter case also works.
    ///
    /// - Throws: `SmrtJobsError.unknownTimeZone(name)` when the name is not in the time zone database.
    public static func timeZone(named name: String) throws -> TimeZone {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if trimmed.uppercased() == "UTC", let utc = TimeZone(identifier: "UTC") { return utc }
        guard !trimmed.isEmpty, let zone = TimeZone(identifier: trimmed) else {
            throw SmrtJobsError.unknownTimeZone(name)
        }
        return zone
    }
}
