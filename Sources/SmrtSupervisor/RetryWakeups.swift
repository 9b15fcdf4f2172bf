import Foundation

/// When retries come due (wall clock), soonest first, so the supervisor claims then instead of at the next poll.
/// Times within a millisecond of one already kept count as that one; beyond `capacity` the latest are dropped
/// (the poll still finds them).
struct RetryWakeups {
    static let capacity = 1000
    private(set) var dates: [Date] = []

    /// Adds `date`; whether it is now the soonest (the timer must be re-armed).
    mutating func add(_ date: Date) -> Bool {
        let index = dates.firstIndex { $0 > date } ?? dates.endIndex
        if index > 0 && abs(dates[index - 1].timeIntervalSince(date)) < 0.001 { return false }
        dates.insert(date, at: index)
        if dates.count > Self.capacity { dates.removeLast() }
        return index == 0
    }

    /// Forgets the wake-ups at or before `now`.
    mutating func removeDue(now: Date) {
        dates.removeAll { $0 <= now }
    }

    /// The soonest, if any.
    var next: Date? { dates.first }
}
