import Foundation
import Testing
@testable import SmrtJobs

/// Time zones and daylight-saving changes. Expected instants are UTC literals; comments give local time.
/// 2026 transitions: America/New_York springs forward 2026-03-08 at 02:00 EST (07:00Z) and falls back
/// 2026-11-01 at 02:00 EDT (06:00Z); Europe/Berlin 2026-03-29 at 02:00 CET (01:00Z) and 2026-10-25 at
/// 03:00 CEST (01:00Z).
@Suite struct CronTimeZoneTests {
    struct Case: CustomStringConvertible, Sendable {
        let expression: String
        let zone: String
        let after: String
        let expected: [String]
        var description: String { "\(expression) in \(zone) after \(after)" }
    }

    static let springForwardCases: [Case] = [
        // Fixed-time job in the skipped hour: once, at the transition (03:00 EDT), then 02:30 again.
        Case(expression: "30 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z",
             expected: ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]),
        Case(expression: "0 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z",
             expected: ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"]),
        // Two skipped fire times still give one run at the transition.
        Case(expression: "0,30 2 * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z",
             expected: ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"]),
        // A skipped 02:00 and a real 03:00 coincide at the transition and fire once.
        Case(expression: "0 2,3 * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z",
             expected: ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"]),
        // Times outside the gap are unaffected: 01:30 EST, then 01:30 EDT.
        Case(expression: "30 1 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z",
             expected: ["2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"]),
        Case(expression: "30 3 * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z",
             expected: ["2026-03-08T07:30:00Z", "2026-03-09T07:30:00Z"]),
        // Wildcard jobs skip the missing times: 01:00 EST, 03:00 EDT, 04:00 EDT.
        Case(expression: "0 * * * *", zone: "America/New_York", after: "2026-03-08T05:00:00Z",
             expected: ["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"]),
        Case(expression: "@hourly", zone: "America/New_York", after: "2026-03-08T05:00:00Z",
             expected: ["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"]),
        Case(expression: "*/30 * * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z",
             expected: ["2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"]),
        // `*/2` in the hour makes it a wildcard job in cron's terms: 00:00 EST, then 04:00 EDT.
        Case(expression: "0 */2 * * *", zone: "America/New_York", after: "2026-03-08T04:00:00Z",
             expected: ["2026-03-08T05:00:00Z", "2026-03-08T08:00:00Z"]),
        Case(expression: "*/15 2 * * *", zone: "America/New_York", after: "2026-03-08T06:00:00Z",
             expected: ["2026-03-09T06:00:00Z"]),
        // Europe/Berlin: 02:30 CET does not exist on 2026-03-29; the job runs at 03:00 CEST.
        Case(expression: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z",
             expected: ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
        Case(expression: "0 * * * *", zone: "Europe/Berlin", after: "2026-03-28T23:30:00Z",
             expected: ["2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"]),
        Case(expression: "30 1 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z",
             expected: ["2026-03-29T00:30:00Z", "2026-03-29T23:30:00Z"]),
        // Lord Howe Island moves half an hour (02:00 +10:30 -> 02:30 +11), so the transition is not on the hour.
        Case(expression: "15 2 * * *", zone: "Australia/Lord_Howe", after: "2026-10-03T00:00:00Z",
             expected: ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]),
    ]

    static let fallBackCases: [Case] = [
        // Fixed-time job in the repeated hour: only the first 01:30 (EDT), not 01:30 EST.
        Case(expression: "30 1 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z",
             expected: ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        // Starting inside the second 01:00-01:59, the repeat of 01:30 is still skipped.
        Case(expression: "30 1 * * *", zone: "America/New_York", after: "2026-11-01T06:10:00Z",
             expected: ["2026-11-02T06:30:00Z"]),
        Case(expression: "0 1,2 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z",
             expected: ["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-02T06:00:00Z"]),
        // 02:30 happens once (EST).
        Case(expression: "30 2 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z",
             expected: ["2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"]),
        // Wildcard jobs fire in both occurrences: 01:00 EDT, 01:00 EST, 02:00 EST.
        Case(expression: "0 * * * *", zone: "America/New_York", after: "2026-11-01T04:00:00Z",
             expected: ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]),
        Case(expression: "*/30 * * * *", zone: "America/New_York", after: "2026-11-01T04:30:00Z",
             expected: ["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
                        "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"]),
        Case(expression: "*/20 1 * * *", zone: "America/New_York", after: "2026-11-01T04:00:00Z",
             expected: ["2026-11-01T05:00:00Z", "2026-11-01T05:20:00Z", "2026-11-01T05:40:00Z",
                        "2026-11-01T06:00:00Z", "2026-11-01T06:20:00Z", "2026-11-01T06:40:00Z",
                        "2026-11-02T06:00:00Z"]),
        // Europe/Berlin repeats 02:00-02:59 on 2026-10-25.
        Case(expression: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z",
             expected: ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        Case(expression: "15 2 * * *", zone: "Europe/Berlin", after: "2026-10-25T00:20:00Z",
             expected: ["2026-10-26T01:15:00Z"]),
        Case(expression: "0 * * * *", zone: "Europe/Berlin", after: "2026-10-24T23:00:00Z",
             expected: ["2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"]),
        Case(expression: "30 1 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z",
             expected: ["2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"]),
    ]

    @Test(arguments: springForwardCases)
    func springForward(_ c: Case) throws {
        #expect(try CronFixtures.fires(c.expression, after: c.after, count: c.expected.count, in: c.zone)
            == c.expected)
    }

    @Test(arguments: fallBackCases)
    func fallBack(_ c: Case) throws {
        #expect(try CronFixtures.fires(c.expression, after: c.after, count: c.expected.count, in: c.zone)
            == c.expected)
    }

    @Test func wallClockTimeIsKeptAcrossTheChange() throws {
        // 09:00 in Berlin is 08:00Z in winter and 07:00Z in summer.
        #expect(try CronFixtures.fires("0 9 * * *", after: "2026-03-28T00:00:00Z", count: 2, in: "Europe/Berlin")
            == ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"])
        #expect(try CronFixtures.fires("0 9 * * *", after: "2026-10-25T00:00:00Z", count: 1, in: "Europe/Berlin")
            == ["2026-10-25T08:00:00Z"])
    }

    @Test(arguments: ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Sao_Paulo"])
    func dailyJobStaysAtItsLocalTimeAllYear(_ zoneName: String) throws {
        let zone = CronFixtures.zone(zoneName)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let dates = try CronExpression(parsing: "45 9 * * *")
            .nextDates(after: CronFixtures.date("2026-01-01T00:00:00Z"), count: 400, in: zone)
        #expect(dates.count == 400)
        for (index, date) in dates.enumerated() {
            let local = calendar.dateComponents([.hour, .minute, .second], from: date)
            #expect(local.hour == 9 && local.minute == 45 && local.second == 0)
            if index > 0 {
                let gap = date.timeIntervalSince(dates[index - 1])
                #expect(gap >= 22.5 * 3600 && gap <= 25.5 * 3600)
            }
        }
    }

    @Test func zoneWithoutDaylightSavingIsAPlainOffset() throws {
        // 09:00 in Tokyo (UTC+9) is midnight UTC.
        #expect(try CronFixtures.fires("0 9 * * *", after: "2026-01-01T00:00:00Z", count: 2, in: "Asia/Tokyo")
            == ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"])
        // The day-of-week is the local one: Monday 00:30 in Kolkata (UTC+5:30) is Sunday 19:00Z.
        #expect(try CronFixtures.fires("30 0 * * MON", after: "2026-01-01T00:00:00Z", count: 1, in: "Asia/Kolkata")
            == ["2026-01-04T19:00:00Z"])
    }

    @Test func leapDayInAZoneWithDaylightSaving() throws {
        #expect(try CronFixtures.fires("0 0 29 2 *", after: "2025-03-01T00:00:00Z", count: 1, in: "America/New_York")
            == ["2028-02-29T05:00:00Z"])
        let never = try CronExpression(parsing: "0 0 31 2 *")
        #expect(never.nextDate(after: CronFixtures.date("2026-01-01T00:00:00Z"), in: CronFixtures.zone("Europe/Berlin"))
            == nil)
    }

    @Test func nextDatesWalksThroughBothChanges() throws {
        let cron = try CronExpression(parsing: "0 * * * *")
        let zone = CronFixtures.zone("America/New_York")
        // 24 hourly fires across the fall-back day are 24 distinct, increasing instants an hour apart.
        let dates = cron.nextDates(after: CronFixtures.date("2026-11-01T03:30:00Z"), count: 24, in: zone)
        #expect(dates.count == 24)
        for pair in zip(dates, dates.dropFirst()) {
            #expect(pair.1.timeIntervalSince(pair.0) == 3600)
        }
        // On the spring-forward day the local day has 23 hours, so 02:00 is missing.
        let spring = cron.nextDates(after: CronFixtures.date("2026-03-08T04:30:00Z"), count: 23, in: zone)
        #expect(spring.first.map(CronFixtures.iso) == "2026-03-08T05:00:00Z")
        #expect(spring.last.map(CronFixtures.iso) == "2026-03-09T03:00:00Z")
    }

    @Test(arguments: ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "utc", "Etc/GMT+5"])
    func knownTimeZoneNames(_ name: String) throws {
        let zone = try CronExpression.timeZone(named: name)
        #expect(zone.identifier.uppercased() == name.uppercased() || name.uppercased() == "UTC")
    }

    @Test func utcNameGivesUTC() throws {
        #expect(try CronExpression.timeZone(named: "UTC").secondsFromGMT(for: Date()) == 0)
    }

    @Test(arguments: ["Mars/Olympus_Mons", "", "Europe/Berln", "not a zone"])
    func unknownTimeZoneNames(_ name: String) {
        #expect(throws: SmrtJobsError.unknownTimeZone(name)) { try CronExpression.timeZone(named: name) }
        #expect(SmrtJobsError.unknownTimeZone(name).description.contains("'\(name)'"))
    }
}
