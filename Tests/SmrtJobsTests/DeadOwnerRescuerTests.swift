import Foundation
import Testing
@testable import SmrtJobs
@testable import SmrtJobsMemory

/// The one rescuer of the supervisor and `TaskRunner`: who is judged dead, what happens to their jobs and rows.
@Suite struct DeadOwnerRescuerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let ttl = Duration.seconds(30)

    /// Always draws the same number, so retry jitter can be computed in the test too.
    struct FixedGenerator: RandomNumberGenerator {
        var value: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> UInt64 { value }
    }

    func rescuer(
        _ store: any JobStore, processExists: (@Sendable (Int32) -> Bool)? = nil
    ) -> DeadOwnerRescuer {
        DeadOwnerRescuer(store: store, leaseId: "me", host: "h1", leaseTTL: ttl, processExists: processExists) { owner, now in
            "\(owner.id) dead at \(Timestamp.format(now)): \(owner.cause)"
        }
    }

    func lease(_ id: String, pid: Int32 = 1, host: String = "h1", heartbeat: Date) -> WorkerRecord {
        WorkerRecord(id: id, pid: pid, host: host, startedAt: heartbeat, heartbeat: heartbeat)
    }

    /// Enqueues one job per owner and claims it under that owner at `claimedAt`.
    func run(_ store: MemoryJobStore, ownedBy owners: [String], claimedAt: Date) throws -> [Int64] {
        try owners.map { owner in
            let job = try store.enqueue(JobSpec(objectType: "Doc", method: "run", runAt: claimedAt), now: claimedAt)
            #expect(try store.claim(workerId: owner, limit: 1, queues: nil, now: claimedAt).map(\.id) == [job.id])
            return job.id
        }
    }

    func rescue(_ rescuer: DeadOwnerRescuer, now: Date) throws -> [DeadOwnerRescuer.Rescue] {
        var random = FixedGenerator()
        return try rescuer.rescue(now: now, using: &random)
    }

    @Test func aSameHostLeaseWhoseProcessIsGoneIsTakenOverAtOnce() throws {
        let store = MemoryJobStore()
        for record in [
            lease("gone", pid: 42, heartbeat: t0), lease("alive", pid: 43, heartbeat: t0),
            lease("elsewhere", pid: 42, host: "h2", heartbeat: t0),
        ] {
            try store.registerWorker(record)
        }
        let ids = try run(store, ownedBy: ["gone", "alive", "elsewhere"], claimedAt: t0)
        let rescues = try rescue(rescuer(store, processExists: { $0 == 43 }), now: t0 + 1)
        #expect(rescues.map(\.owner.id) == ["gone"])
        let rescued = try #require(rescues.first)
        #expect(rescued.owner.cause == .processGone(pid: 42))
        #expect(rescued.owner.lease == lease("gone", pid: 42, heartbeat: t0))
        #expect(rescued.reason == "gone dead at \(Timestamp.format(t0 + 1)): processGone(pid: 42)")
        #expect(rescued.jobs.map(\.job.id) == [ids[0]])
        #expect(rescued.jobs.first?.job.lastError == rescued.reason)
        #expect(try store.listWorkers().map(\.id) == ["alive", "elsewhere"])
        #expect(try ids[1...].map { try store.get(id: $0)?.status } == [.running, .running])
    }

    @Test func rowsWithoutAnExpiryAreJudgedByTheirHeartbeatAndTheTTL() throws {
        let store = MemoryJobStore()
        let expiredAt = t0 - ttl.timeInterval
        // Stores keep whole milliseconds, and `t0 - 30.001` is not one: a second is plenty past the boundary.
        try store.registerWorker(lease("expired", heartbeat: expiredAt - 1))
        try store.registerWorker(lease("justInTime", heartbeat: expiredAt))
        // Our own lease is never judged, however old.
        try store.registerWorker(lease("me", heartbeat: t0 - 3600))
        let ids = try run(store, ownedBy: ["expired", "justInTime", "me"], claimedAt: t0 - 3600)
        // Without processExists every lease is judged by its TTL alone, even with a pid that does not exist.
        let rescues = try rescue(rescuer(store), now: t0)
        #expect(rescues.map(\.owner.id) == ["expired"])
        #expect(rescues.first?.owner.cause == .leaseExpired(lastHeartbeat: expiredAt - 1))
        #expect(rescues.first?.jobs.map(\.job.id) == [ids[0]])
        #expect(try store.listWorkers().map(\.id) == ["justInTime", "me"])
        #expect(try store.get(id: ids[2])?.status == .running)
        // A dead lease with no jobs is reported (and removed) all the same.
        try store.registerWorker(lease("idle", heartbeat: expiredAt - 1))
        let idle = try rescue(rescuer(store), now: t0)
        #expect(idle.map(\.owner.id) == ["idle"] && idle.first?.jobs == [])
        #expect(try store.listWorkers().map(\.id) == ["justInTime", "me"])
    }

    @Test func aLeaseIsJudgedByTheExpiryItsOwnerWrote() throws {
        let store = MemoryJobStore()
        // Renewed a minute ago with a TTL of its own of 2 minutes: alive, although our TTL (30 s) says otherwise.
        try store.registerWorker(
            WorkerRecord(id: "longTTL", pid: 1, host: "h2", startedAt: t0 - 60, heartbeat: t0 - 60, expiresAt: t0 + 60))
        // Renewed a second ago with a TTL of 500 ms: expired, although our TTL says it is fresh.
        try store.registerWorker(
            WorkerRecord(id: "shortTTL", pid: 2, host: "h2", startedAt: t0 - 1, heartbeat: t0 - 1, expiresAt: t0 - 0.5))
        let ids = try run(store, ownedBy: ["longTTL", "shortTTL"], claimedAt: t0 - 60)
        let rescues = try rescue(rescuer(store), now: t0)
        #expect(rescues.map(\.owner.id) == ["shortTTL"])
        #expect(rescues.first?.owner.cause == .leaseExpired(lastHeartbeat: t0 - 1))
        #expect(try store.get(id: ids[0])?.status == .running)
        #expect(try store.listWorkers().map(\.id) == ["longTTL"])
    }

    @Test func theExpiryJudgementIsOneComparison() {
        let rescuer = rescuer(MemoryJobStore())
        let cutoff = t0 - ttl.timeInterval
        func own(expiresAt: Date) -> WorkerRecord {
            WorkerRecord(id: "a", pid: 1, host: "h2", startedAt: t0 - 60, heartbeat: t0 - 60, expiresAt: expiresAt)
        }
        #expect(rescuer.leaseExpired(own(expiresAt: t0 - 0.001), now: t0))
        #expect(!rescuer.leaseExpired(own(expiresAt: t0), now: t0))
        // A row written before leases carried their expiry: its heartbeat plus the judge's TTL.
        #expect(rescuer.leaseExpired(lease("a", heartbeat: cutoff - 0.001), now: t0))
        #expect(!rescuer.leaseExpired(lease("a", heartbeat: cutoff), now: t0))
        #expect(rescuer.judge(lease("a", heartbeat: cutoff), now: t0) == nil)
    }

    @Test func ownersWithRunningJobsAndNoLeaseRowAreDeadAtOnce() throws {
        let store = MemoryJobStore()
        // Claimed a second ago: a live owner always writes its row before it claims, so a missing row means it
        // was judged dead, removed by hand, or lost with a database that failed (a disk-full exit).
        let ids = try run(store, ownedBy: ["orphan", "orphan", "me"], claimedAt: t0 - 1)
        try store.registerWorker(lease("leased", heartbeat: t0))
        let leasedId = try run(store, ownedBy: ["leased"], claimedAt: t0)[0]
        let rescues = try rescue(rescuer(store), now: t0)
        #expect(rescues.map(\.owner.id) == ["orphan"])
        let rescued = try #require(rescues.first)
        #expect(rescued.owner.lease == nil && rescued.owner.cause == .noLease)
        #expect(rescued.jobs.map(\.job.id) == [ids[0], ids[1]])
        #expect(try [ids[2], leasedId].map { try store.get(id: $0)?.status } == [.running, .running])
    }

    @Test func ownersWithoutALeaseAreFoundOnEveryPage() throws {
        let store = MemoryJobStore()
        let count = DeadOwnerRescuer.page + 1
        // The lowest id is claimed last (low priority), so it is read on the last page (newest first).
        let first = try store.enqueue(JobSpec(objectType: "Doc", method: "run", priority: 1), now: t0 - 60)
        _ = try store.enqueue(batch: Array(repeating: JobSpec(objectType: "Doc", method: "run"), count: count), now: t0 - 60)
        #expect(try store.claim(workerId: "many", limit: count, queues: nil, now: t0 - 60).count == count)
        #expect(try store.claim(workerId: "late", limit: 1, queues: nil, now: t0 - 1).map(\.id) == [first.id])
        let rescues = try rescue(rescuer(store), now: t0)
        #expect(rescues.map(\.owner.id) == ["late", "many"])
        #expect(rescues.map(\.jobs.count) == [1, count])
    }

    @Test func jobsAreRetriedUnderTheirStrategyOrFailedForGood() throws {
        let store = MemoryJobStore()
        let strategy = RetryStrategy.exponential(initialDelay: 1000, multiplier: 2, maxDelay: 60_000, jitter: true)
        let retried = try store.enqueue(
            JobSpec(objectType: "Doc", method: "run", maxAttempts: 3, retryStrategy: strategy), now: t0 - 60)
        let lastAttempt = try store.enqueue(JobSpec(objectType: "Doc", method: "run", maxAttempts: 1), now: t0 - 60)
        let neverRetried = try store.enqueue(
            JobSpec(objectType: "Doc", method: "run", maxAttempts: 3, retryStrategy: .none), now: t0 - 60)
        let claimed = try store.claim(workerId: "dead", limit: 3, queues: nil, now: t0 - 60)
        try store.registerWorker(lease("dead", heartbeat: t0 - 60))
        let rescues = try rescue(rescuer(store), now: t0)
        let results = Dictionary(uniqueKeysWithValues: (rescues.first?.jobs ?? []).map { ($0.job.id, $0.result) })
        var random = FixedGenerator()
        let claimedRetried = try #require(claimed.first { $0.id == retried.id })
        let expected = try #require(strategy.nextRunAt(after: claimedRetried, now: t0, using: &random))
        #expect(results[retried.id] == .retrying(at: MemoryJobStore.stored(expected)))
        #expect(results[lastAttempt.id] == .failed)
        #expect(results[neverRetried.id] == .failed)
        let reason = try #require(rescues.first?.reason)
        #expect(try [retried.id, lastAttempt.id, neverRetried.id].map { try store.get(id: $0)?.lastError } == [reason, reason, reason])
        #expect(try store.get(id: lastAttempt.id)?.status == .failed)
    }

    @Test func anOwnerThatRenewsAndClaimsAfterTheJudgementKeepsEveryJob() throws {
        let memory = MemoryJobStore()
        let store = InterleavingStore(memory)
        // Both unrenewed for a minute: judged expired at t0.
        try memory.registerWorker(lease("slow", heartbeat: t0 - 60))
        try memory.registerWorker(lease("dead", heartbeat: t0 - 60))
        let ids = try run(memory, ownedBy: ["slow", "dead"], claimedAt: t0 - 60)
        // Between the judgement and the recovery, "slow" renews and claims another job under the renewed lease.
        var newJob: Int64?
        store.before(.recoverJobs(ofDeadOwner: "slow")) {
            try memory.heartbeatWorker(id: "slow", now: self.t0, expiresAt: self.t0 + 30)
            newJob = try self.run(memory, ownedBy: ["slow"], claimedAt: self.t0).first
        }
        let rescues = try rescue(rescuer(store), now: t0)
        let claimedMeanwhile = try #require(newJob, "the recovery of slow was asked for")
        #expect(rescues.map(\.owner.id) == ["dead"], "slow is alive after all: not reported")
        for id in [ids[0], claimedMeanwhile] {
            let job = try #require(try memory.get(id: id))
            #expect(job.status == .running && job.workerId == "slow" && job.attempts == 1, "job \(id) stays with slow")
        }
        #expect(try memory.get(id: ids[1])?.status == .pending, "dead's job is taken back")
        #expect(try memory.listWorkers().map(\.id) == ["slow"])
        #expect(try memory.listWorkers().first?.heartbeat == t0)
    }

    @Test func anOwnerThatRegistersAndClaimsBetweenTheReadsKeepsItsJob() throws {
        let memory = MemoryJobStore()
        let store = InterleavingStore(memory)
        // The rescuer reads the rows (none for "late"), then the running jobs: "late" registers and claims in between.
        var claimed: Int64?
        store.before(.listRunning) {
            try memory.registerWorker(self.lease("late", heartbeat: self.t0))
            claimed = try self.run(memory, ownedBy: ["late"], claimedAt: self.t0).first
        }
        var recoveryAsked = false
        store.before(.recoverJobs(ofDeadOwner: "late")) { recoveryAsked = true }
        let rescues = try rescue(rescuer(store), now: t0)
        let id = try #require(claimed)
        #expect(recoveryAsked, "judged without a lease from the rows read before")
        #expect(rescues.isEmpty)
        let job = try #require(try memory.get(id: id))
        #expect(job.status == .running && job.workerId == "late" && job.attempts == 1)
        #expect(try memory.listWorkers().map(\.id) == ["late"])
    }
}
