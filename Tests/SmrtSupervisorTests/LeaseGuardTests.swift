import Foundation
import Testing
@testable import SmrtSupervisor

/// What the supervisor may do under its lease: the timings that keep a job from running in two places.
@Suite struct LeaseGuardTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func timingsFollowTheTTL() {
        let lease = LeaseGuard(ttlMs: 30_000)
        #expect(lease.watchdog == 10)
        #expect(lease.watchdogMs == 10_000)
        #expect(lease.margin == 2.5)
        #expect(lease.keepaliveInterval == 2.5)
    }

    /// Nothing may be claimed before the first registration answers, but there is nothing to fence either (a
    /// worker ready before it must not make the supervisor log a lost lease).
    @Test func nothingIsHeldBeforeTheFirstRenewal() {
        var lease = LeaseGuard(ttlMs: 30_000)
        #expect(!lease.isHeld(at: t0))
        #expect(!lease.mayFeedWatchdogs(at: t0))
        #expect(!lease.wasEverHeld)
        lease.renewed(expiresAt: t0 + 30)
        #expect(lease.wasEverHeld)
    }

    @Test func heldUntilTheMarginBeforeExpiry() {
        var lease = LeaseGuard(ttlMs: 30_000)
        lease.renewed(expiresAt: t0 + 30)
        #expect(lease.isHeld(at: t0))
        #expect(lease.isHeld(at: t0 + 27.4))
        #expect(!lease.isHeld(at: t0 + 27.5), "2.5 s before expiry: fence")
        #expect(!lease.isHeld(at: t0 + 31))
    }

    /// A worker fed at `t` stops by `t + watchdog`; the last feed allowed keeps that before the expiry by the
    /// margin, so workers of a supervisor that can no longer renew are gone before anyone may take their jobs.
    @Test func workersAreFedOnlyWhileTheyWouldStopBeforeTheExpiry() {
        var lease = LeaseGuard(ttlMs: 30_000)
        lease.renewed(expiresAt: t0 + 30)
        #expect(lease.mayFeedWatchdogs(at: t0 + 17.4))
        #expect(!lease.mayFeedWatchdogs(at: t0 + 17.5))
        let lastFeed = t0 + 17.4
        #expect(lastFeed + lease.watchdog < t0 + 30 - lease.margin + 0.2)
    }

    @Test func aLateAnswerToAnOlderRenewalNeverShortensTheLease() {
        var lease = LeaseGuard(ttlMs: 30_000)
        lease.renewed(expiresAt: t0 + 60)
        lease.renewed(expiresAt: t0 + 30)
        #expect(lease.expiresAt == t0 + 60)
    }

    /// With renewals every third of the TTL (the heartbeat is capped there), keepalives never stop while
    /// renewals succeed.
    @Test func renewalsComeBeforeFeedingStops() {
        let ttl = 3.0
        var lease = LeaseGuard(ttlMs: 3000)
        lease.renewed(expiresAt: t0 + ttl)
        let nextRenewal = t0 + ttl / 3
        #expect(lease.mayFeedWatchdogs(at: nextRenewal))
    }
}
