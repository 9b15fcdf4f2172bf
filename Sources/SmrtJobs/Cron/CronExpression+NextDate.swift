import Foundation

extension CronExpression {
    /// How far ahead `nextDate` looks before concluding that an expression never fires. Eight years because
    /// February 29 can be eight years apart when a century is not a leap year (2096, then 2104).
    static let searchYears: Int64 = 8

    /// The first fire time strictly after `date`, or nil if there is none within eight years
    /// (`0 0 31 2 *` never fires). Results fall on whole minutes of the zone's wall clock.
    ///
    /// Fire times are wall-clock times in `timeZone`. Across daylight-saving changes this follows the rule
    /// of Vixie cron's `cron(8)`, which tells "wildcard" jobs (minute or hour field beginning with `*`,
    /// including `@hourly`) apart from "fixed-time" jobs (all others):
    ///
    /// - Spring forward (local times skipped, e.g. 02:00-02:59 on 2026-03-08 in America/New_York):
    ///   a fixed-time job due in the skipped interval fires once, at the transition (03:00 local);
    ///   `30 2 * * *` fires at 03:00 that day. A wildcard job skips the missing times: `0 * * * *` fires at
    ///   01:00 then 03:00. This is also what croniter computes for these cases.
    /// - Fall back (local times repeated, e.g. 01:00-01:59 on 2026-11-01 in America/New_York):
    ///   a fixed-time job fires only at the first occurrence (`30 1 * * *` fires at 01:30 EDT, not again
    ///   at 01:30 EST). A wildcard job fires in both occurrences: `0 * * * *` fires at 01:00 EDT and
    ///   01:00 EST. croniter fires fixed-time jobs twice here; this follows cron instead.
    ///
    /// Unlike croniter, a job such as `0 */2 * * *` or `*/15 2 * * *` is a wildcard job, because cron
    /// classifies by the field's first character, so it skips the missing hour instead of firing at 03:00.
    /// Every offset change is handled this way whatever its size (cron treats jumps over 3 hours as clock
    /// corrections, which has no meaning for a computed schedule).
    public func nextDate(after date: Date, in timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Date? {
        let after = date.timeIntervalSince1970
        guard after.isFinite else { return nil }
        let startWall = Int64((after + Double(timeZone.secondsFromGMT(for: date))).rounded(.down))
        let lastYear = Timestamp.civil(fromDays: Self.floorDiv(startWall, 86_400)).0 + Self.searchYears

        // The offset is constant between transitions, so each such segment maps wall-clock times to instants
        // one to one. Walking starts a day early so that the segment holding `date` knows whether it began
        // with the clock going back, which decides whether its first wall-clock times are repeats.
        var segmentStart = after - 86_400
        var entry: (instant: Double, previousOffset: Int)?
        while true {
            let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: segmentStart))
            var transition = timeZone.nextDaylightSavingTimeTransition(
                after: Date(timeIntervalSince1970: segmentStart))?.timeIntervalSince1970
            if let t = transition, t <= segmentStart { transition = nil }
            if let t = transition, t <= after {
                entry = (t, offset)
                segmentStart = t
                continue
            }

            var lowWall = segmentStart > after
                ? Self.ceilToMinute(segmentStart + Double(offset))
                : Self.floorDiv(Int64((after + Double(offset)).rounded(.down)), 60) * 60 + 60
            if !isWildcard, let entry, entry.previousOffset > offset {
                lowWall = max(lowWall, Self.ceilToMinute(entry.instant + Double(entry.previousOffset)))
            }
            guard let wall = firstMatch(atOrAfter: lowWall, lastYear: lastYear) else { return nil }
            guard let t = transition, Double(wall) >= t + Double(offset) else {
                return Date(timeIntervalSince1970: Double(wall - Int64(offset)))
            }
            let newOffset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: t))
            if !isWildcard, newOffset > offset, Double(wall) < t + Double(newOffset) {
                return Date(timeIntervalSince1970: t)
            }
            entry = (t, offset)
            segmentStart = t
        }
    }

    /// The error for an expression that has no fire time after `date` (`0 0 31 2 *`): `cron next` and
    /// `schedule add` say the same.
    public static func neverFires(_ expression: String, after date: Date) -> SmrtJobsError {
        .invalidCron(
            expression: expression, field: nil,
            reason: "it never fires after \(Timestamp.format(date).prefix(19))Z (no date matches its day, month and weekday)")
    }

    /// The next `count` fire times after `date`, in order; fewer if the schedule ends (see `nextDate`).
    public func nextDates(after date: Date, count: Int, in timeZone: TimeZone = TimeZone(identifier: "UTC")!)
        -> [Date]
    {
        var dates: [Date] = []
        var cursor = date
        while dates.count < count, let next = nextDate(after: cursor, in: timeZone) {
            dates.append(next)
            cursor = next
        }
        return dates
    }

    /// The first wall-clock minute at or after `wall` (seconds since 1970 as if the wall clock were UTC)
    /// that the expression matches, found field by field: month, then day, then hour, then minute, each
    /// step carrying into the next larger field. Nil past the end of `lastYear`.
    func firstMatch(atOrAfter wall: Int64, lastYear: Int64) -> Int64? {
        let start = Self.ceilToMinute(Double(wall))
        let days = Self.floorDiv(start, 86_400)
        let secondOfDay = start - days * 86_400
        var (year, month, day) = Timestamp.civil(fromDays: days)
        var hour = Int(secondOfDay / 3600)
        var minute = Int(secondOfDay % 3600 / 60)
        while year <= lastYear {
            if minute > 59 { hour += 1; minute = 0 }
            if hour > 23 { day += 1; hour = 0; minute = 0 }
            if day > Self.daysIn(year: year, month: month) { month += 1; day = 1; hour = 0; minute = 0 }
            if month > 12 { year += 1; month = 1; day = 1; hour = 0; minute = 0; continue }
            guard let nextMonth = months.next(atOrAfter: Int(month)) else {
                year += 1; month = 1; day = 1; hour = 0; minute = 0
                continue
            }
            if nextMonth != Int(month) {
                month = Int64(nextMonth); day = 1; hour = 0; minute = 0
                continue
            }
            let dayNumber = Timestamp.daysFromCivil(year, month, day)
            let weekday = Int(Self.floorMod(dayNumber + 4, 7))  // 1970-01-01 was a Thursday
            guard dayMatches(day: Int(day), weekday: weekday) else {
                day += 1; hour = 0; minute = 0
                continue
            }
            guard let nextHour = hours.next(atOrAfter: hour) else {
                day += 1; hour = 0; minute = 0
                continue
            }
            if nextHour != hour { hour = nextHour; minute = 0 }
            guard let nextMinute = minutes.next(atOrAfter: minute) else {
                hour += 1; minute = 0
                continue
            }
            return dayNumber * 86_400 + Int64(hour) * 3600 + Int64(nextMinute) * 60
        }
        return nil
    }

    static func daysIn(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

    static func ceilToMinute(_ seconds: Double) -> Int64 {
        Int64((seconds / 60).rounded(.up)) * 60
    }
}
