import Foundation
import SmrtJobs

/// This host's wall clock, corrected to the database's: the time every lease expiry, retry time, schedule slot
/// and job timestamp the supervisor writes or compares is on.
///
/// A database on another host (PostgreSQL) keeps time by its server's clock (`JobStore.databaseTime()`); a host
/// whose clock is off by seconds would otherwise write leases that expire too early or too late, take over a live
/// lease, or fire schedules early. The offset is measured when the store opens and at each heartbeat, on the
/// database thread, as the server's time minus the midpoint of the round trip that read it; a local database
/// (SQLite) has no clock of its own, and the offset stays 0.
///
/// A reading can be off by half its round trip, so a slow one (over `maxRoundTrip`: a call that hung through a
/// partition and returned when the link came back) is ignored once a reading exists: trusting it would put this
/// host's clock seconds off and make it judge live leases expired. What is left of that error is `uncertainty`:
/// a supervisor judges its own lease by the latest the database's time can be (`latestNow`), and others' leases by
/// the earliest (`earliestNow`), so an error in either reading can never make two supervisors both think they
/// hold a job.
final class DatabaseClock: Sendable {
    /// The longest round trip a reading may take to replace the last one.
    static let maxRoundTrip: TimeInterval = 1
    /// The offset, whether it was measured, and half the round trip of the reading it came from.
    private let offset = Locked<(seconds: TimeInterval, measured: Bool, uncertainty: TimeInterval)>((0, false, 0))
    /// The host's wall clock; tests pass another.
    private let wallClock: @Sendable () -> Date

    init(wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.wallClock = wallClock
    }

    /// The database's time now, as far as the last measurement tells.
    func now() -> Date {
        wallClock().addingTimeInterval(offset.withLock { $0.seconds })
    }

    /// How far the database's clock is ahead of this host's (seconds; negative: behind).
    var offsetSeconds: TimeInterval { offset.withLock { $0.seconds } }

    /// How far `now()` may be off the database's time: half the round trip of the reading in use (0 without one).
    var uncertainty: TimeInterval { offset.withLock { $0.uncertainty } }

    /// The latest the database's time can be now: what this supervisor judges its own lease by.
    func latestNow() -> Date { corrected(errorSign: 1) }

    /// The earliest the database's time can be now: what another supervisor's lease is judged expired by.
    func earliestNow() -> Date { corrected(errorSign: -1) }

    /// The wall clock plus the offset, plus or minus the reading's error.
    private func corrected(errorSign: Double) -> Date {
        let (seconds, uncertainty) = offset.withLock { ($0.seconds, $0.uncertainty) }
        return wallClock().addingTimeInterval(seconds + errorSign * uncertainty)
    }

    /// Reads the database's clock through `store` and keeps the difference. Blocking: database thread only.
    /// Returns the offset now in use, or nil when the database has no clock of its own.
    @discardableResult
    func synchronize(with store: any JobStore) throws -> TimeInterval? {
        try synchronize(reading: store.databaseTime)
    }

    /// `synchronize(with:)` with the read of the database's clock passed in.
    @discardableResult
    func synchronize(reading databaseTime: () throws -> Date?) throws -> TimeInterval? {
        let before = wallClock()
        guard let databaseNow = try databaseTime() else { return nil }
        let after = wallClock()
        let midpoint = before.addingTimeInterval(after.timeIntervalSince(before) / 2)
        let measured = databaseNow.timeIntervalSince(midpoint)
        let roundTrip = after.timeIntervalSince(before)
        return offset.withLock { current in
            if roundTrip <= Self.maxRoundTrip || !current.measured { current = (measured, true, roundTrip / 2) }
            return current.seconds
        }
    }
}
