import Foundation
import Testing
@testable import SmrtSupervisor

/// When the supervisor wakes for jobs coming due, and which claims count for a wake-up, without a loop or a store.
@Suite struct DueWakeupsTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// `t0` plus `ms` milliseconds, as a store returns it (read back from its text: a whole millisecond give or take
    /// the Double's rounding).
    static func at(_ ms: Int) -> Date { Date(timeIntervalSince1970: Double(1_800_000_000_000 + Int64(ms)) / 1000) }

    @Test func keepTheSoonestFirstAndEachMillisecondOnce() {
        var wakeups = DueWakeups()
        let rearms = [Self.at(10), Self.at(20), Self.at(5), Self.at(5), Self.at(7)].map { wakeups.add($0) }
        // The first is the soonest; a later one leaves the timer; a sooner one re-arms it; the same millisecond
        // again is the same wake-up.
        #expect(rearms == [true, false, true, false, false])
        #expect(wakeups.next == Self.at(5))
        #expect(wakeups.times.count == 4)
    }

    /// A wake-up is served only by a claim whose `now` a store would see the job at: a claim made a moment before
    /// (in flight when the timer fired, or by a timer that fired early) leaves it due.
    @Test func onlyAClaimMadeAtOrAfterTheTimeServesIt() {
        var wakeups = DueWakeups()
        wakeups.add(Self.at(100))
        wakeups.add(Self.at(200))
        #expect(!wakeups.isDue(at: Self.at(99).addingTimeInterval(0.000_9)), "99.9 ms: the store writes 99")
        wakeups.claimed(at: Self.at(99).addingTimeInterval(0.000_9))
        #expect(wakeups.next == Self.at(100), "a claim at 99.9 ms cannot have seen a job due at 100")
        #expect(wakeups.isDue(at: Self.at(100)))
        wakeups.claimed(at: Self.at(100).addingTimeInterval(0.000_4))
        #expect(wakeups.next == Self.at(200))
        #expect(!wakeups.isDue(at: Self.at(150)))
        wakeups.claimed(at: Self.at(250))
        #expect(wakeups.next == nil)
        #expect(!wakeups.isDue(at: Self.at(300)))
    }

    /// One claim answer too early for a due wake-up is the claim in flight when it came due: claim again at once. A
    /// second in a row means the clock went back: claiming again at once could spin.
    @Test func claimAtOnceOnlyAfterTheFirstEarlyAnswer() {
        var wakeups = DueWakeups()
        wakeups.add(Self.at(100))
        wakeups.add(Self.at(200))
        let answers = [wakeups.claimAtOnceAfterEarlyAnswer(), wakeups.claimAtOnceAfterEarlyAnswer()]
        #expect(answers == [true, false])
        #expect(wakeups.claimed(at: Self.at(100)) == 1)
        #expect(wakeups.earlyAnswers == 0, "a wake-up served starts over")
        let afterServed = wakeups.claimAtOnceAfterEarlyAnswer()
        #expect(afterServed)
    }

    @Test func theTimerIsArmedForWhatIsLeftOfTheSoonest() throws {
        var wakeups = DueWakeups()
        #expect(wakeups.millisecondsUntilNext(from: Self.at(0)) == nil)
        wakeups.add(Self.at(300))
        let left = try #require(wakeups.millisecondsUntilNext(from: Self.at(100).addingTimeInterval(0.000_25)))
        #expect(abs(left - 199.75) < 0.001, "\(left)")
        #expect(try #require(wakeups.millisecondsUntilNext(from: Self.at(301))) <= 0, "due")
    }

    /// Read back from a store, a date may be a hair below its millisecond; it still counts as that millisecond.
    @Test func aDateReadBackFromAStoreIsItsMillisecond() {
        var wakeups = DueWakeups()
        let stored = Self.at(123)
        wakeups.add(stored.addingTimeInterval(-0.000_000_1))
        #expect(wakeups.times == [1_800_000_000_123])
        #expect(DueWakeups.storedMilliseconds(Self.at(123)) == 1_800_000_000_123)
    }

    @Test func areBounded() {
        var wakeups = DueWakeups()
        for i in 0..<(DueWakeups.capacity + 10) { wakeups.add(Self.at(i)) }
        #expect(wakeups.times.count == DueWakeups.capacity)
        #expect(wakeups.next == Self.at(0))
        #expect(wakeups.times.last == 1_800_000_000_000 + Int64(DueWakeups.capacity - 1), "the latest are dropped")
    }
}
