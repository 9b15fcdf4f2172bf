import Foundation
import Testing
@testable import SmrtJobs

@Suite struct CronNextDateTests {
    struct Case: CustomStringConvertible, Sendable {
        let expression: String
        let after: String
        let expected: [String]
        var description: String { "\(expression) after \(after)" }
    }

    static let utcCases: [Case] = [
        // Every minute, strictly after the given time, seconds dropped.
        Case(expression: "* * * * *", after: "2026-01-01T00:00:30Z",
             expected: ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"]),
        Case(expression: "* * * * *", after: "2026-01-01T00:01:00Z", expected: ["2026-01-01T00:02:00Z"]),
        Case(expression: "* * * * *", after: "2026-01-01T00:00:59.999Z", expected: ["2026-01-01T00:01:00Z"]),
        Case(expression: "*/15 * * * *", after: "2026-05-04T10:07:00Z",
             expected: ["2026-05-04T10:15:00Z", "2026-05-04T10:30:00Z", "2026-05-04T10:45:00Z",
                        "2026-05-04T11:00:00Z"]),
        Case(expression: "*/15 * * * *", after: "2026-05-04T10:14:59.500Z", expected: ["2026-05-04T10:15:00Z"]),
        // Weekdays at nine: Friday 2 January 2026, then over the weekend to Monday.
        Case(expression: "0 9 * * MON-FRI", after: "2026-01-02T09:00:00Z",
             expected: ["2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z", "2026-01-07T09:00:00Z"]),
        Case(expression: "0 9 * * MON-FRI", after: "2026-01-02T08:59:59Z", expected: ["2026-01-02T09:00:00Z"]),
        Case(expression: "30 8 * * SAT,SUN", after: "2026-01-05T00:00:00Z",
             expected: ["2026-01-10T08:30:00Z", "2026-01-11T08:30:00Z", "2026-01-17T08:30:00Z"]),
        // Lists mixing values, ranges and steps.
        Case(expression: "0,10-20/5,45 * * * *", after: "2026-01-01T10:00:00Z",
             expected: ["2026-01-01T10:10:00Z", "2026-01-01T10:15:00Z", "2026-01-01T10:20:00Z",
                        "2026-01-01T10:45:00Z", "2026-01-01T11:00:00Z"]),
        Case(expression: "1-5,10,20-30/5 * * * *", after: "2026-01-01T10:04:00Z",
             expected: ["2026-01-01T10:05:00Z", "2026-01-01T10:10:00Z", "2026-01-01T10:20:00Z",
                        "2026-01-01T10:25:00Z", "2026-01-01T10:30:00Z", "2026-01-01T11:01:00Z"]),
        Case(expression: "5/15 * * * *", after: "2026-01-01T10:00:00Z",
             expected: ["2026-01-01T10:05:00Z", "2026-01-01T10:20:00Z", "2026-01-01T10:35:00Z",
                        "2026-01-01T10:50:00Z", "2026-01-01T11:05:00Z"]),
        Case(expression: "0 9-17/4 * * *", after: "2026-01-01T10:00:00Z",
             expected: ["2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"]),
        // Month names.
        Case(expression: "0 0 1 JAN,JUL *", after: "2026-01-01T00:00:00Z",
             expected: ["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"]),
        Case(expression: "0 12 1 jan-mar/2 *", after: "2026-01-01T12:00:00Z",
             expected: ["2026-03-01T12:00:00Z", "2027-01-01T12:00:00Z"]),
        // Macros.
        Case(expression: "@yearly", after: "2026-06-15T08:00:00Z", expected: ["2027-01-01T00:00:00Z"]),
        Case(expression: "@annually", after: "2026-12-31T23:59:59Z", expected: ["2027-01-01T00:00:00Z"]),
        Case(expression: "@monthly", after: "2026-06-15T08:00:00Z",
             expected: ["2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"]),
        Case(expression: "@weekly", after: "2026-06-15T08:00:00Z",
             expected: ["2026-06-21T00:00:00Z", "2026-06-28T00:00:00Z"]),
        Case(expression: "@daily", after: "2026-06-15T08:00:00Z",
             expected: ["2026-06-16T00:00:00Z", "2026-06-17T00:00:00Z"]),
        Case(expression: "@midnight", after: "2026-06-15T00:00:00Z", expected: ["2026-06-16T00:00:00Z"]),
        Case(expression: "@hourly", after: "2026-06-15T08:30:00Z",
             expected: ["2026-06-15T09:00:00Z", "2026-06-15T10:00:00Z"]),
        // February 29 only in leap years; 2100 is not one, so 2096 is followed by 2104.
        Case(expression: "0 0 29 2 *", after: "2025-03-01T00:00:00Z",
             expected: ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        Case(expression: "0 0 29 2 *", after: "2096-03-01T00:00:00Z", expected: ["2104-02-29T00:00:00Z"]),
        Case(expression: "0 0 29 FEB *", after: "2024-02-28T12:00:00Z", expected: ["2024-02-29T00:00:00Z"]),
        // The 31st skips the months that have no 31st.
        Case(expression: "0 0 31 * *", after: "2026-01-31T00:00:00Z",
             expected: ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
                        "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z"]),
        Case(expression: "0 0 30 * *", after: "2026-01-30T00:00:00Z",
             expected: ["2026-03-30T00:00:00Z", "2026-04-30T00:00:00Z"]),
        // Year rollover.
        Case(expression: "59 23 31 12 *", after: "2026-12-31T23:59:00Z", expected: ["2027-12-31T23:59:00Z"]),
        Case(expression: "59 23 31 12 *", after: "2026-12-31T23:58:00Z", expected: ["2026-12-31T23:59:00Z"]),
        Case(expression: "* * * * *", after: "2026-12-31T23:59:30Z", expected: ["2027-01-01T00:00:00Z"]),
        Case(expression: "0 0 1 1 *", after: "2026-12-31T23:59:00Z", expected: ["2027-01-01T00:00:00Z"]),
        Case(expression: "*/7 * * * *", after: "2026-12-31T23:57:00Z", expected: ["2027-01-01T00:00:00Z"]),
        // Carry through every field at once: the last minute of a leap year.
        Case(expression: "0 0 * * *", after: "2028-12-31T23:59:59Z", expected: ["2029-01-01T00:00:00Z"]),
        // Before 1970.
        Case(expression: "0 0 1 1 *", after: "1969-06-01T00:00:00Z",
             expected: ["1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z"]),
        Case(expression: "30 6 * * SUN", after: "1969-12-30T00:00:00Z", expected: ["1970-01-04T06:30:00Z"]),
    ]

    @Test(arguments: utcCases)
    func knownFireTimesInUTC(_ c: Case) throws {
        #expect(try CronFixtures.fires(c.expression, after: c.after, count: c.expected.count) == c.expected)
    }

    @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
        // Fridays (2, 9, 16, 23, 30 January 2026) and the 13th (a Tuesday).
        #expect(try CronFixtures.fires("0 0 13 * FRI", after: "2026-01-01T00:00:00Z", count: 6) == [
            "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
            "2026-01-16T00:00:00Z", "2026-01-23T00:00:00Z", "2026-01-30T00:00:00Z",
        ])
        // A full day-of-month range is still a restriction, so the union is every day.
        #expect(try CronFixtures.fires("0 0 1-31 * MON", after: "2026-01-01T00:00:00Z", count: 3) == [
            "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
        ])
    }

    @Test func starDayFieldLeavesTheOtherToRestrict() throws {
        #expect(try CronFixtures.fires("0 0 13 * *", after: "2026-01-01T00:00:00Z", count: 2)
            == ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"])
        #expect(try CronFixtures.fires("0 0 * * FRI", after: "2026-01-01T00:00:00Z", count: 2)
            == ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"])
    }

    @Test func dayFieldStartingWithStarIntersectsAsInVixieCron() throws {
        // `*/2` begins with `*`, so the days must be odd AND Mondays (croniter's implement_cron_bug mode).
        #expect(try CronFixtures.fires("0 0 */2 * MON", after: "2026-01-01T00:00:00Z", count: 4) == [
            "2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-23T00:00:00Z",
        ])
    }

    @Test func orRuleLetsAWeekdayFireInAMonthWithoutTheDay() throws {
        // February has no 30th, but Mondays still fire.
        #expect(try CronFixtures.fires("0 0 30 2 MON", after: "2026-01-31T00:00:00Z", count: 2)
            == ["2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"])
    }

    @Test(arguments: ["0 0 * * 7", "0 0 * * 0", "0 0 * * SUN", "0 0 * * sun", "@weekly"])
    func sundayIsZeroOrSeven(_ expression: String) throws {
        #expect(try CronFixtures.fires(expression, after: "2026-01-01T00:00:00Z", count: 3)
            == ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"])
    }

    @Test func rangeEndingInSevenIncludesSunday() throws {
        #expect(try CronFixtures.fires("0 0 * * 5-7", after: "2026-01-01T00:00:00Z", count: 4) == [
            "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z",
        ])
        // `5/2` runs from Friday to 7, stepping 2: Friday and Sunday.
        #expect(try CronFixtures.fires("0 0 * * 5/2", after: "2026-01-01T00:00:00Z", count: 3)
            == ["2026-01-02T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"])
    }

    @Test(arguments: ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "* * 31 FEB *"])
    func impossibleDateGivesNil(_ expression: String) throws {
        let cron = try CronExpression(parsing: expression)
        #expect(cron.nextDate(after: CronFixtures.date("2026-01-01T00:00:00Z")) == nil)
        #expect(cron.nextDates(after: CronFixtures.date("2026-01-01T00:00:00Z"), count: 3, in: .gmt).isEmpty)
    }

    @Test func resultsAreWholeMinutesStrictlyAfterTheStart() throws {
        let cron = try CronExpression(parsing: "*/7 */3 * * *")
        var cursor = CronFixtures.date("2026-03-01T00:00:00.123Z")
        for _ in 0..<500 {
            let next = try #require(cron.nextDate(after: cursor))
            #expect(next > cursor)
            #expect(next.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0)
            cursor = next.addingTimeInterval(0.5)
        }
    }

    @Test func nextDatesReturnsTheRequestedCountInOrder() throws {
        let cron = try CronExpression(parsing: "0 */6 * * *")
        let after = CronFixtures.date("2026-01-01T00:00:00Z")
        let dates = cron.nextDates(after: after, count: 5, in: .gmt)
        #expect(dates.map(CronFixtures.iso) == [
            "2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z",
            "2026-01-02T00:00:00Z", "2026-01-02T06:00:00Z",
        ])
        #expect(cron.nextDates(after: after, count: 0, in: .gmt).isEmpty)
        #expect(cron.nextDates(after: after, count: -3, in: .gmt).isEmpty)
        // Each date is the next one after the previous.
        var cursor = after
        for date in dates {
            #expect(cron.nextDate(after: cursor) == date)
            cursor = date
        }
    }

    @Test func defaultTimeZoneIsUTC() throws {
        let cron = try CronExpression(parsing: "30 9 * * *")
        let after = CronFixtures.date("2026-07-01T12:00:00Z")
        #expect(cron.nextDate(after: after) == cron.nextDate(after: after, in: CronFixtures.zone("UTC")))
        #expect(cron.nextDate(after: after).map(CronFixtures.iso) == "2026-07-02T09:30:00Z")
    }

    /// The field-by-field search agrees with a plain minute-by-minute scan over the same matcher.
    @Test(arguments: [
        "* * * * *", "*/13 */5 * * *", "0 0 13 * FRI", "0 0 */2 * MON", "15 4 29 2 *", "0,30 1-3 1-7 * MON",
        "59 23 31 * *", "0 12 * FEB,AUG 6-7", "7-9/2 22 1,15 * 3", "0 0 31 * 0",
    ])
    func agreesWithAMinuteScan(_ expression: String) throws {
        let cron = try CronExpression(parsing: expression)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        func matches(_ date: Date) -> Bool {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date)
            return cron.minutes.contains(c.minute!) && cron.hours.contains(c.hour!)
                && cron.months.contains(c.month!) && cron.dayMatches(day: c.day!, weekday: c.weekday! - 1)
        }
        var scan = CronFixtures.date("2027-12-25T00:00:00Z")
        let end = CronFixtures.date("2028-03-15T00:00:00Z")
        var expected: [Date] = []
        while scan < end, expected.count < 40 {
            scan = scan.addingTimeInterval(60)
            if matches(scan) { expected.append(scan) }
        }
        let actual = cron.nextDates(after: CronFixtures.date("2027-12-25T00:00:00Z"), count: expected.count, in: .gmt)
        #expect(actual == expected)
        #expect(!expected.isEmpty)
    }

    @Test func tenThousandCallsOnSparseExpressionsTerminate() throws {
        // A termination check only: no timing assertion.
        let leapDay = try CronExpression(parsing: "0 0 29 2 *")
        let never = try CronExpression(parsing: "0 0 31 2 *")
        let berlin = CronFixtures.zone("Europe/Berlin")
        var start = CronFixtures.date("2025-03-01T00:00:00Z")
        var found = 0
        var missing = 0
        for _ in 0..<10_000 {
            if leapDay.nextDate(after: start, in: berlin) != nil { found += 1 }
            if never.nextDate(after: start) == nil { missing += 1 }
            start = start.addingTimeInterval(3 * 3600)
        }
        #expect(found == 10_000)
        #expect(missing == 10_000)
    }
}
