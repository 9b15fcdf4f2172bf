import Foundation
import Testing
@testable import SmrtJobs

@Suite struct CronExpressionParsingTests {
    struct BadField: CustomStringConvertible, Sendable {
        let expression: String
        let field: String
        let reason: String
        var description: String { expression }
    }

    static let badFields: [BadField] = [
        BadField(expression: "61 * * * *", field: "minute", reason: "61 out of range 0-59"),
        BadField(expression: "* 24 * * *", field: "hour", reason: "24 out of range 0-23"),
        BadField(expression: "0 0 0 * *", field: "day-of-month", reason: "0 out of range 1-31"),
        BadField(expression: "0 0 32 * *", field: "day-of-month", reason: "32 out of range 1-31"),
        BadField(expression: "0 0 1-32 * *", field: "day-of-month", reason: "32 out of range 1-31"),
        BadField(expression: "0 0 * 0 *", field: "month", reason: "0 out of range 1-12"),
        BadField(expression: "0 0 * 13 *", field: "month", reason: "13 out of range 1-12"),
        BadField(expression: "0 0 * * 8", field: "day-of-week", reason: "8 out of range 0-7"),
        BadField(expression: "0 0 * * 1-8", field: "day-of-week", reason: "8 out of range 0-7"),
        BadField(expression: "99999999999999999999 * * * *", field: "minute",
                 reason: "99999999999999999999 out of range 0-59"),
        BadField(expression: "*/0 * * * *", field: "minute", reason: "step 0 in '*/0' must be at least 1"),
        BadField(expression: "0 1-5/0 * * *", field: "hour", reason: "step 0 in '1-5/0' must be at least 1"),
        BadField(expression: "*/x * * * *", field: "minute", reason: "step 'x' in '*/x' is not a number"),
        BadField(expression: "*/ * * * *", field: "minute", reason: "step '' in '*/' is not a number"),
        BadField(expression: "*/2/3 * * * *", field: "minute", reason: "'*/2/3' has more than one step"),
        BadField(expression: "/5 * * * *", field: "minute", reason: "'/5' has a step but nothing to step through"),
        BadField(expression: "5-1 * * * *", field: "minute", reason: "range 5-1 is reversed (5 > 1)"),
        BadField(expression: "0 23-1 * * *", field: "hour", reason: "range 23-1 is reversed (23 > 1)"),
        BadField(expression: "0 0 * DEC-JAN *", field: "month", reason: "range DEC-JAN is reversed (12 > 1)"),
        BadField(expression: "0 0 * * FRI-MON", field: "day-of-week", reason: "range FRI-MON is reversed (5 > 1)"),
        BadField(expression: "abc * * * *", field: "minute", reason: "'abc' is not a number"),
        BadField(expression: "-5 * * * *", field: "minute", reason: "'-5' is not a valid value or range"),
        BadField(expression: "1-2-3 * * * *", field: "minute", reason: "'1-2-3' is not a valid value or range"),
        BadField(expression: "1,,2 * * * *", field: "minute", reason: "has an empty list item in '1,,2'"),
        BadField(expression: "0 1, * * *", field: "hour", reason: "has an empty list item in '1,'"),
        BadField(expression: "JAN 0 * * *", field: "minute", reason: "'JAN' is not a number"),
        BadField(expression: "0 MON * * *", field: "hour", reason: "'MON' is not a number"),
        BadField(expression: "0 0 FRI * *", field: "day-of-month", reason: "'FRI' is not a number"),
        BadField(expression: "0 0 * MON *", field: "month", reason: "'MON' is not a number or month name (JAN-DEC)"),
        BadField(expression: "0 0 * * JAN", field: "day-of-week", reason: "'JAN' is not a number or day name (SUN-SAT)"),
        BadField(expression: "0 0 * * MONDAY", field: "day-of-week",
                 reason: "'MONDAY' is not a number or day name (SUN-SAT)"),
        BadField(expression: "0 0 * * 1x", field: "day-of-week", reason: "'1x' is not a number or day name (SUN-SAT)"),
        BadField(expression: "1.5 * * * *", field: "minute", reason: "'1.5' is not a number"),
    ]

    @Test(arguments: badFields)
    func rejectsBadFieldNamingIt(_ bad: BadField) {
        let error = CronFixtures.parseError(bad.expression)
        #expect(error == .invalidCron(expression: bad.expression, field: bad.field, reason: bad.reason))
        #expect(error?.description == "invalid cron expression '\(bad.expression)': \(bad.field) \(bad.reason)")
    }

    @Test func messageForMinuteOutOfRangeReadsAsDocumented() {
        #expect(CronFixtures.parseError("61 * * * *")?.description
            == "invalid cron expression '61 * * * *': minute 61 out of range 0-59")
    }

    @Test(arguments: [
        ("", "the expression is empty"),
        ("   \t ", "the expression is empty"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"),
        ("* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 6"),
        ("@daily *", "expected 5 fields (minute hour day-of-month month day-of-week), found 2"),
        ("@reboot", "@reboot is not supported: it has no fire time to compute"),
        ("@REBOOT", "@reboot is not supported: it has no fire time to compute"),
        ("@fortnightly",
         "unknown macro '@fortnightly' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"),
    ])
    func rejectsWholeExpressionWithoutAField(_ text: String, _ reason: String) {
        let normalized = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(CronFixtures.parseError(text) == .invalidCron(expression: normalized, field: nil, reason: reason))
    }

    @Test func rebootErrorNamesIt() {
        #expect(CronFixtures.parseError("@reboot")?.description.contains("@reboot") == true)
    }

    @Test func descriptionIsTheTrimmedText() throws {
        #expect(try CronExpression(parsing: "  */15   9-17 * *\tMON-FRI \n").description == "*/15 9-17 * * MON-FRI")
        #expect(try CronExpression(parsing: "@daily").description == "@daily")
        #expect("\(try CronExpression(parsing: "0 0 1 JAN,JUL *"))" == "0 0 1 JAN,JUL *")
    }

    @Test(arguments: [
        ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun", "@weekly"],
        ["0 0 * * *", "@daily", "@midnight", "00 00 * * *"],
        ["0 0 1 1 *", "@yearly", "@annually", "0 0 1 JAN *", "@YEARLY"],
        ["0 0 1 * *", "@monthly"],
        ["0 * * * *", "@hourly"],
        ["0 9 * * 1-5", "0 9 * * MON-FRI", "0 9 * * mon-fri", "0 9 * * Mon,Tue,Wed,Thu,Fri", "0 9 * * 1,2-4,fri"],
        ["0 0 1 1,7 *", "0 0 1 JAN,JUL *", "0 0 1 jan,jul *", "0 0 1 1-12/6 *", "0 0 1 1/6 *"],
        ["0,15,30,45 * * * *", "0-59/15 * * * *", "0/15 * * * *"],
        ["*/15 * * * *", "*/15 */1 * * *"],
        ["0 0 * * 0,6", "0 0 * * 6-7", "0 0 * * SAT,SUN", "0 0 * * 0-6/6"],
    ])
    func equivalentSpellingsAreEqual(_ spellings: [String]) throws {
        let first = try CronExpression(parsing: spellings[0])
        for other in spellings.dropFirst() {
            #expect(try CronExpression(parsing: other) == first, "\(other) should equal \(spellings[0])")
        }
    }

    @Test func differentSchedulesAreNotEqual() throws {
        #expect(try CronExpression(parsing: "0 0 * * 1") != CronExpression(parsing: "0 0 * * 2"))
        #expect(try CronExpression(parsing: "*/15 * * * *") != CronExpression(parsing: "*/20 * * * *"))
        // Same days, but a leading `*` changes the day-of-month/day-of-week rule, so not the same schedule.
        #expect(try CronExpression(parsing: "0 0 * * MON") != CronExpression(parsing: "0 0 1-31 * MON"))
    }

    @Test func stepLargerThanTheRangeSelectsOnlyTheStart() throws {
        #expect(try CronExpression(parsing: "*/90 * * * *") == CronExpression(parsing: "*/60 * * * *"))
        #expect(try CronFixtures.fires("*/90 * * * *", after: "2026-01-01T10:00:00Z", count: 2)
            == ["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"])
        #expect(try CronExpression(parsing: "10-20/100 * * * *") == CronExpression(parsing: "10 * * * *"))
    }

    @Test func namesAndNumbersMayMixInRanges() throws {
        #expect(try CronExpression(parsing: "0 0 * 3-JUN *") == CronExpression(parsing: "0 0 * MAR-JUN *"))
        #expect(try CronExpression(parsing: "0 0 * * 1-FRI") == CronExpression(parsing: "0 0 * * MON-FRI"))
    }
}
