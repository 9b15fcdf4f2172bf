import Foundation

/// When pending jobs come due (a retry's `runAt`, a delayed job's), soonest first, so the supervisor claims at that
/// moment instead of at the next poll.
///
/// A wake-up is served only by a claim made at or after its time. Stores compare `run_at` with the claim's `now`,
/// both in whole milliseconds, so a claim already in flight when the timer fires, or one made by a timer that fired
/// a moment early, does not see the job: the wake-up stays until the answer of a claim made late enough comes back
/// (`claimed(at:)`). Beyond `capacity` the latest are dropped (the poll still finds them).
struct DueWakeups {
    static let capacity = 1000
    /// Milliseconds since the epoch, ascending, each once.
    private(set) var times: [Int64] = []
    /// Claim answers, since a wake-up was last served, that left the soonest one due with no claim in flight.
    private(set) var earlyAnswers = 0

    /// Adds the time a job comes due (as stores return it: whole milliseconds); whether it is now the soonest (the
    /// timer must be re-armed).
    @discardableResult
    mutating func add(_ date: Date) -> Bool {
        // To the nearest: a date read back from a store is a whole millisecond give or take the Double's rounding.
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let index = times.firstIndex { $0 >= ms } ?? times.endIndex
        if index < times.endIndex && times[index] == ms { return false }
        times.insert(ms, at: index)
        if times.count > Self.capacity { times.removeLast() }
        return index == 0
    }

    /// A claim compared `run_at` with `now`: every wake-up it could see is served. Returns how many.
    @discardableResult
    mutating func claimed(at now: Date) -> Int {
        let seen = Self.storedMilliseconds(now)
        let served = times.prefix { $0 <= seen }.count
        times.removeFirst(served)
        if served > 0 { earlyAnswers = 0 }
        return served
    }

    /// A claim's answer left the soonest wake-up due, with no other claim in flight: whether to claim again at once.
    /// The first time, yes: that claim was made a moment before the wake-up came due. Once more means a claim made
    /// after it did not see the job either, because the clock claims are made by went back (a new reading of the
    /// database's clock): claiming again at once could spin, so the claim waits until the job is due by that clock.
    mutating func claimAtOnceAfterEarlyAnswer() -> Bool {
        earlyAnswers += 1
        return earlyAnswers == 1
    }

    /// Whether the soonest wake-up is due at `now`: a claim made now would see its job.
    func isDue(at now: Date) -> Bool {
        guard let first = times.first else { return false }
        return first <= Self.storedMilliseconds(now)
    }

    /// Milliseconds from `now` until the soonest is due (0 or less: due), nil without one.
    func millisecondsUntilNext(from now: Date) -> Double? {
        times.first.map { Double($0) - now.timeIntervalSince1970 * 1000 }
    }

    /// The soonest, if any.
    var next: Date? { times.first.map { Date(timeIntervalSince1970: Double($0) / 1000) } }

    /// The millisecond a store writes for `date` (rounded down, as `Timestamp.format` does): what a claim at `date`
    /// compares `run_at` with.
    static func storedMilliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}
