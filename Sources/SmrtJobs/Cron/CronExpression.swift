import Foundation

/// A parsed five-field cron expression (`minute hour day-of-month month day-of-week`) with Vixie cron
/// semantics, the same schedule the Python croniter library computes.
///
/// Syntax of each field: `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the
/// field's maximum), and comma-separated lists mixing them (`1-5,10,20-30/5`). Ranges must not be
/// reversed. Month takes `JAN`-`DEC` and day-of-week `SUN`-`SAT`, case-insensitive and usable in ranges
/// (`MON-FRI`); day-of-week 0 and 7 are both Sunday, and as in Vixie cron its ranges run to 7, so `5/2`
/// is Friday and Sunday (croniter stops such a step at 6). The macros `@yearly` (`@annually`), `@monthly`,
/// `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for their usual expressions; `@reboot` is
/// rejected because it has no fire time.
///
/// Day-of-month and day-of-week, following Vixie cron's `entry.c` and `cron.c`: when either field's text
/// begins with `*`, a day must match both fields, so a plain `*` leaves the other field alone to restrict
/// the day; otherwise a day matches if either field matches (`0 0 13 * FRI` fires on every 13th and every
/// Friday). Note that `*/2` also begins with `*`, so `0 0 */2 * MON` means odd days that are Mondays, as in
/// Vixie cron and croniter's `implement_cron_bug` mode (croniter's default would take the union).
///
/// Two expressions are equal when they describe the same schedule (`0 0 * * 7` equals `0 0 * * 0`),
/// including which fields begin with `*`, since that changes day and daylight-saving semantics.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    let minutes: CronField
    let hours: CronField
    let daysOfMonth: CronField
    let months: CronField
    let daysOfWeek: CronField
    /// The expression as written, trimmed, with runs of whitespace collapsed.
    private let text: String

    /// Parses `text`, a five-field expression or a macro such as `@daily`.
    ///
    /// - Throws: `SmrtJobsError.invalidCron(expression:field:reason:)`; `field` names the field at fault
    ///   (minute, hour, day-of-month, month or day-of-week) and `reason` the value, for example field
    ///   `minute` and reason `61 out of range 0-59`. `field` is nil for an empty expression, a wrong
    ///   number of fields, or an unknown macro.
    public init(parsing text: String) throws {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .map(String.init)
        let normalized = words.joined(separator: " ")
        func fail(_ reason: String) -> SmrtJobsError {
            .invalidCron(expression: normalized, field: nil, reason: reason)
        }
        guard !words.isEmpty else { throw fail("the expression is empty") }
        var fields = words
        if words.count == 1, words[0].hasPrefix("@") {
            fields = try Self.expand(macro: words[0], fail: fail)
        }
        guard fields.count == 5 else {
            throw fail("expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minutes = try CronField(parsing: fields[0], kind: .minute, expression: normalized)
        hours = try CronField(parsing: fields[1], kind: .hour, expression: normalized)
        daysOfMonth = try CronField(parsing: fields[2], kind: .dayOfMonth, expression: normalized)
        months = try CronField(parsing: fields[3], kind: .month, expression: normalized)
        daysOfWeek = try CronField(parsing: fields[4], kind: .dayOfWeek, expression: normalized)
        self.text = normalized
    }

    /// The expression as written (trimmed, whitespace collapsed), e.g. `*/15 9-17 * * MON-FRI` or `@daily`.
    public var description: String { text }

    public static func == (lhs: CronExpression, rhs: CronExpression) -> Bool {
        lhs.minutes == rhs.minutes && lhs.hours == rhs.hours && lhs.daysOfMonth == rhs.daysOfMonth
            && lhs.months == rhs.months && lhs.daysOfWeek == rhs.daysOfWeek
    }

    private static func expand(macro: String, fail: (String) -> SmrtJobsError) throws -> [String] {
        let expansion: String
        switch macro.lowercased() {
        case "@yearly", "@annually": expansion = "0 0 1 1 *"
        case "@monthly": expansion = "0 0 1 * *"
        case "@weekly": expansion = "0 0 * * 0"
        case "@daily", "@midnight": expansion = "0 0 * * *"
        case "@hourly": expansion = "0 * * * *"
        case "@reboot": throw fail("@reboot is not supported: it has no fire time to compute")
        default:
            throw fail("unknown macro '\(macro)' (expected @yearly, @annually, @monthly, @weekly, @daily, "
                + "@midnight or @hourly)")
        }
        return expansion.split(separator: " ").map(String.init)
    }

    /// Vixie cron's "wildcard" job: the minute or hour field begins with `*` (this includes `@hourly`).
    /// Wildcard jobs follow the wall clock through daylight-saving changes; other jobs are "fixed-time".
    var isWildcard: Bool { minutes.startsWithStar || hours.startsWithStar }

    /// Whether the day `year-month-day`, a `weekday` (0 = Sunday), is a fire day, months aside.
    func dayMatches(day: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth.contains(day)
        let dow = daysOfWeek.contains(weekday)
        if daysOfMonth.startsWithStar || daysOfWeek.startsWithStar { return dom && dow }
        return dom || dow
    }
}
