import Foundation

/// What this supervisor may still do under its lease, judged on the clock others judge the lease by (the wall
/// clock the lease's expiry is written in): the rule that keeps one execution of a job at a time.
///
/// - While the lease is **held** (more than `margin` before its expiry) the supervisor claims and starts jobs.
///   Once it is not, the supervisor fences itself: it kills its busy workers and starts nothing until a renewal
///   succeeds. So a supervisor that wakes up past its expiry (SIGSTOP, a wedged host), or that cannot renew,
///   has stopped its jobs before another supervisor can take them over.
/// - Workers of protocol version 2 get `KEEPALIVE(watchdog)`, and stop themselves when they hear none for
///   `watchdog`. A keepalive is sent only while `now + watchdog + margin` is before the expiry, so a worker whose
///   supervisor froze or lost its lease is gone before the lease expires, even if the supervisor is not there to
///   kill it.
///
/// With the default TTL of 30 s: watchdog 10 s, keepalives every 2.5 s, margin 2.5 s; renewals every 5 s.
/// `now` is `DatabaseClock.latestNow()`: the latest the database's time can be, given the clock reading's error.
struct LeaseGuard: Equatable {
    /// The lease's time to live (each renewal holds it this long).
    let ttl: TimeInterval
    /// When the lease expires, as written at the last successful renewal.
    private(set) var expiresAt: Date = .distantPast

    init(ttlMs: Int) {
        ttl = Double(ttlMs) / 1000
    }

    /// How long a worker may go without a keepalive before it must stop.
    var watchdog: TimeInterval { ttl / 3 }
    /// `watchdog` as KEEPALIVE carries it.
    var watchdogMs: UInt32 { UInt32(clamping: Int((watchdog * 1000).rounded())) }
    /// Slack for scheduling and message delays.
    var margin: TimeInterval { watchdog / 4 }
    /// How often workers get a keepalive.
    var keepaliveInterval: TimeInterval { watchdog / 4 }

    /// Whether any registration or renewal has succeeded yet.
    var wasEverHeld: Bool { expiresAt > .distantPast }

    /// A renewal that wrote `expiresAt` succeeded. An older renewal answering late never shortens the lease.
    mutating func renewed(expiresAt: Date) {
        self.expiresAt = max(self.expiresAt, expiresAt)
    }

    /// Whether jobs may be claimed and started at `now`; false means: fence.
    func isHeld(at now: Date) -> Bool {
        now.addingTimeInterval(margin) < expiresAt
    }

    /// Whether a keepalive sent at `now` keeps every worker that gets it within the lease.
    func mayFeedWatchdogs(at now: Date) -> Bool {
        now.addingTimeInterval(watchdog + margin) < expiresAt
    }
}
