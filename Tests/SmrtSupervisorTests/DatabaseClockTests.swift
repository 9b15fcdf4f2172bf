import Foundation
import Testing

@testable import SmrtSupervisor

/// The supervisor's clock follows the database's: a host 20 s off writes and judges leases on the server's time.
@Suite struct DatabaseClockTests {
    /// A wall clock that advances by `step` seconds at each read, from `start`.
    final class SteppingClock: @unchecked Sendable {  // read from one test thread only
        var time: Date
        let step: TimeInterval
        init(start: Date, step: TimeInterval) {
            time = start
            self.step = step
        }
        func read() -> Date {
            defer { time = time.addingTimeInterval(step) }
            return time
        }
    }

    @Test func aLocalDatabaseLeavesTheHostClock() throws {
        let clock = DatabaseClock(wallClock: { Date(timeIntervalSince1970: 1000) })
        #expect(try clock.synchronize(reading: { nil }) == nil)
        #expect(clock.now() == Date(timeIntervalSince1970: 1000))
    }

    @Test func theOffsetIsMeasuredAgainstTheMidpointOfTheRoundTrip() throws {
        // The host reads 1000 before and 1000.010 after asking; the server said 1020.005 in between: the host is
        // 20 s behind, whatever the round trip took.
        let wall = SteppingClock(start: Date(timeIntervalSince1970: 1000), step: 0.010)
        let clock = DatabaseClock(wallClock: { wall.read() })
        let offset = try #require(try clock.synchronize(reading: { Date(timeIntervalSince1970: 1020.005) }))
        #expect(abs(offset - 20) < 1e-6)
        // The next read of the wall clock is 1000.020: the database's time is 1020.020.
        #expect(abs(clock.now().timeIntervalSince1970 - 1020.020) < 1e-6)
    }

    @Test func aHostAheadGetsANegativeOffsetAndAFailedReadKeepsTheLastOne() throws {
        let clock = DatabaseClock(wallClock: { Date(timeIntervalSince1970: 5000) })
        try clock.synchronize(reading: { Date(timeIntervalSince1970: 4980) })
        #expect(clock.offsetSeconds == -20)
        struct Unreachable: Error {}
        #expect(throws: Unreachable.self) { try clock.synchronize(reading: { throw Unreachable() }) }
        #expect(clock.offsetSeconds == -20)
    }

    /// A read that hung through a partition and returned 8 s later would put the clock 4 s off: it is ignored, and
    /// the last good offset stays. The first reading is taken whatever its round trip (there is nothing better).
    @Test func aSlowRoundTripDoesNotMoveTheClock() throws {
        let slow = SteppingClock(start: Date(timeIntervalSince1970: 1000), step: 8)
        let clock = DatabaseClock(wallClock: { slow.read() })
        // First reading: 1000 before, 1008 after, the server said 1004 + 20.
        #expect(try clock.synchronize(reading: { Date(timeIntervalSince1970: 1024) }) == 20)
        // Second: 1016 before, 1024 after; the server answered at once, 1016 + 20, then the link went down.
        #expect(try clock.synchronize(reading: { Date(timeIntervalSince1970: 1036) }) == 20)
        #expect(clock.offsetSeconds == 20)
    }

    /// A reading taken over a 400 ms round trip may be 200 ms off either way: a holder judges its own lease
    /// 200 ms later than its best guess, a rescuer judges others' 200 ms earlier, so the reading's error cannot
    /// make both believe they hold one job. A slow reading that is ignored leaves the last good one's error.
    @Test func judgementsAllowForTheReadingsError() throws {
        let wall = SteppingClock(start: Date(timeIntervalSince1970: 1000), step: 0.4)
        let clock = DatabaseClock(wallClock: { wall.read() })
        #expect(clock.uncertainty == 0)
        // 1000 before, 1000.4 after: the server's 1010.2 sits at the midpoint, offset 10, ± 0.2.
        #expect(try clock.synchronize(reading: { Date(timeIntervalSince1970: 1010.2) }) == 10)
        #expect(abs(clock.uncertainty - 0.2) < 1e-6)
        // The next wall reads are 1000.8 (latest: + 10 + 0.2) and 1001.2 (earliest: + 10 − 0.2).
        #expect(abs(clock.latestNow().timeIntervalSince1970 - 1011.0) < 1e-6)
        #expect(abs(clock.earliestNow().timeIntervalSince1970 - 1011.0) < 1e-6)
        let slow = SteppingClock(start: Date(timeIntervalSince1970: 2000), step: 3)
        let sameClock = DatabaseClock(wallClock: { slow.read() })
        try sameClock.synchronize(reading: { Date(timeIntervalSince1970: 2001.5) })  // the first: taken, ± 1.5
        #expect(abs(sameClock.uncertainty - 1.5) < 1e-6)
        try sameClock.synchronize(reading: { Date(timeIntervalSince1970: 2007.5) })  // 3 s round trip: ignored
        #expect(abs(sameClock.uncertainty - 1.5) < 1e-6 && abs(sameClock.offsetSeconds) < 1e-6)
    }
}
