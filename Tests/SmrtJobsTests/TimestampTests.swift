import Foundation
import Testing
@testable import SmrtJobs

@Suite struct TimestampTests {
    @Test func formatsFixedWidthUTC() {
        let date = Date(timeIntervalSince1970: 1_795_935_270.123)
        #expect(Timestamp.format(date) == "2026-11-29T06:54:30.123Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }

    @Test func roundTripsAcrossLeapDaysAndCenturies() {
        for text in ["2024-02-29T23:59:59.999Z", "2000-03-01T00:00:00.000Z", "2100-12-31T12:00:00.500Z",
                     "1969-12-31T23:59:59.000Z"] {
            #expect(Timestamp.format(Timestamp.parse(text)!) == text)
        }
    }

    @Test func sortsAsText() {
        let a = Timestamp.format(Date(timeIntervalSince1970: 999))
        let b = Timestamp.format(Date(timeIntervalSince1970: 1000))
        #expect(a < b)
    }

    @Test func rejectsGarbage() {
        #expect(Timestamp.parse("yesterday") == nil)
        #expect(Timestamp.parse("2026-13-01T00:00:00Z") == nil)
        #expect(Timestamp.parse("2026-11-29T06:54:30") != nil)
    }
}
