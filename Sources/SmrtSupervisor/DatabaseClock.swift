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
/// host's clock seconds off and make it judge live leases expired.
final class DatabaseClock: Sendable {
    /// The longest round trip a reading may take to replace the last one.
    static let maxRoundTrip: TimeInterval = 1
    /// The offset, and whether it was measured.
    private let offset = Locked<(seconds: TimeInterval, measured: Bool)>((0, false))
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
            if roundTrip <= Self.maxRoundTrip || !current.measured { current = (measured, true) }
            return current.seconds
        }
    }
}
