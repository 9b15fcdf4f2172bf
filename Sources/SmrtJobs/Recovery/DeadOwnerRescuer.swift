import Foundation

/// Takes back the running jobs of dead owners: the one rescuer of the supervisor and `TaskRunner`.
///
/// An owner (a supervisor or runner, the `workerId` of the jobs it claims) is dead when
/// - its lease row is on this host and its process is gone (with `processExists`): at once, whatever the TTL;
/// - its lease has expired (`leaseExpired`): past the expiry its owner wrote at its last renewal, never judged
///   by the judge's own TTL (a row from before leases carried their expiry: its heartbeat plus `leaseTTL`);
/// - it has running jobs but no lease row at all: at once. Every owner writes its row before it claims, so its
///   row is gone only because it was judged dead, removed by hand, or lost with a database that failed.
///
/// The running jobs of a dead owner fail their attempt (it counts) with the caller's `reason`, and are retried
/// under their own strategy or failed for good (the store counts those on their schedules); the lease rows of
/// dead owners are removed. Each owner's jobs and row are taken in one store transaction that first checks its
/// lease is still as judged (`recoverJobs(ofDeadOwner:leaseAsJudged:)`): an owner that renews or registers, and
/// claims, between the judgement and the recovery keeps its jobs. Time is passed in, randomness (retry jitter)
/// too; the caller logs and emits what `rescue` returns in its own words. Calls are synchronous store calls: make them where the caller makes its
/// other store calls (the supervisor's database thread, the runner's task).
public struct DeadOwnerRescuer: Sendable {
    /// Why an owner was judged dead.
    public enum Cause: Sendable, Equatable {
        /// Its lease is on this host and its process `pid` is gone.
        case processGone(pid: Int32)
        /// Its lease, last renewed at `lastHeartbeat`, expired.
        case leaseExpired(lastHeartbeat: Date)
        /// It has running jobs but no lease row.
        case noLease
    }

    /// An owner judged dead.
    public struct DeadOwner: Sendable, Equatable {
        /// The `workerId` of its jobs (its lease id).
        public var id: String
        /// Its lease row; nil for an owner without one.
        public var lease: WorkerRecord?
        public var cause: Cause

        /// Its lease as judged, for the store to check before it takes anything.
        public var judgedLease: JudgedLease { lease.map { .row(heartbeat: $0.heartbeat) } ?? .noRow }
    }

    /// A dead owner and what was done with its running jobs (possibly none).
    public struct Rescue: Sendable, Equatable {
        public var owner: DeadOwner
        /// The error stored on its jobs (`lastError`), as the caller's `reason` worded it.
        public var reason: String
        /// Its jobs as they are now, and whether each will be retried or failed for good.
        public var jobs: [RecoveredJob]
    }

    public let store: any JobStore
    /// The caller's own lease id: never judged, and its jobs are never orphans.
    public let leaseId: String
    /// The caller's host, compared with the host of lease rows for `processExists`.
    public let host: String
    /// How long a lease row without an expiry of its own (written by an older version) may go unrenewed.
    public let leaseTTL: Duration
    /// Whether a process of this host is alive; nil judges every lease by its TTL alone.
    public let processExists: (@Sendable (_ pid: Int32) -> Bool)?
    /// The error to store on the jobs of a dead owner, judged at the given time.
    public let reason: @Sendable (_ owner: DeadOwner, _ now: Date) -> String

    /// How many running jobs `rescue` reads at a time when it looks for owners without a lease.
    static let page = 500

    public init(
        store: any JobStore, leaseId: String, host: String, leaseTTL: Duration,
        processExists: (@Sendable (_ pid: Int32) -> Bool)? = nil,
        reason: @escaping @Sendable (_ owner: DeadOwner, _ now: Date) -> String
    ) {
        self.store = store
        self.leaseId = leaseId
        self.host = host
        self.leaseTTL = leaseTTL
        self.processExists = processExists
        self.reason = reason
    }

    /// Judges every other owner at `now` and takes back the jobs of the dead ones: first owners with a lease row
    /// (by id; their rows are removed), then owners without one (by id). An owner whose lease is no longer as
    /// judged when its jobs are taken (renewed, registered) is left alone and not returned. `random` draws the
    /// retry jitter.
    public func rescue(now: Date, using random: inout some RandomNumberGenerator) throws -> [Rescue] {
        let leases = try store.listWorkers()
        var dead: [DeadOwner] = []
        for lease in leases where lease.id != leaseId {
            if let cause = judge(lease, now: now) { dead.append(DeadOwner(id: lease.id, lease: lease, cause: cause)) }
        }
        let leased = Set(leases.map(\.id)).union([leaseId])
        for owner in try ownersWithoutLease(leased: leased, now: now) {
            dead.append(DeadOwner(id: owner, lease: nil, cause: .noLease))
        }
        var rescues: [Rescue] = []
        for owner in dead {
            let reason = reason(owner, now)
            let jobs = try store.recoverJobs(
                ofDeadOwner: owner.id, leaseAsJudged: owner.judgedLease, reason: reason, now: now
            ) { job in job.retryStrategy.nextRunAt(after: job, now: now, using: &random) }
            guard let jobs else { continue }
            rescues.append(Rescue(owner: owner, reason: reason, jobs: jobs))
        }
        return rescues
    }

    /// Why the owner of `lease` is dead at `now`, or nil while it lives.
    public func judge(_ lease: WorkerRecord, now: Date) -> Cause? {
        if let processExists, lease.host == host, !processExists(lease.pid) { return .processGone(pid: lease.pid) }
        if leaseExpired(lease, now: now) { return .leaseExpired(lastHeartbeat: lease.heartbeat) }
        return nil
    }

    /// Whether `lease` has expired at `now`: the one place a lease's expiry is judged.
    public func leaseExpired(_ lease: WorkerRecord, now: Date) -> Bool {
        let expiry = lease.expiresAt ?? lease.heartbeat.addingTimeInterval(leaseTTL.timeInterval)
        return expiry < now
    }

    /// Owners of running jobs that have no lease row in `leased` (read before these jobs: one that registered and
    /// claimed in between is found here, and its recovery, which checks it still has no row, takes nothing).
    private func ownersWithoutLease(leased: Set<String>, now: Date) throws -> [String] {
        var owners: Set<String> = []
        var offset = 0
        while true {
            let running = try store.list(JobQuery(status: .running, limit: Self.page, offset: offset))
            for job in running {
                if let owner = job.workerId, !leased.contains(owner) { owners.insert(owner) }
            }
            if running.count < Self.page { break }
            offset += Self.page
        }
        return owners.sorted()
    }
}
