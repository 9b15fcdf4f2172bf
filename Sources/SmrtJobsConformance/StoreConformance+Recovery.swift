import Foundation
import SmrtJobs
import Testing

/// Taking back the jobs of dead owners: only while the lease is as the rescuer judged it.
extension StoreConformance {
    static let recoveryChecks: [ConformanceCheck] = [
        ConformanceCheck("recoverJobsOfDeadOwners", recoverJobsOfDeadOwners),
        ConformanceCheck("recoveryLeavesALeaseRenewedAfterTheJudgement", recoveryLeavesALeaseRenewedAfterTheJudgement),
        ConformanceCheck("recoveryLeavesAnOwnerThatRegisteredAfterTheJudgement", recoveryLeavesAnOwnerThatRegisteredAfterTheJudgement),
        ConformanceCheck("recoverJobsWithStaleHeartbeats", recoverJobsWithStaleHeartbeats),
    ]

    static func lease(_ id: String, heartbeat: Date) -> WorkerRecord {
        WorkerRecord(id: id, pid: 1, host: "h", startedAt: heartbeat, heartbeat: heartbeat, expiresAt: heartbeat + 30)
    }

    static func recoverJobsOfDeadOwners(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec("Retry"), spec("Final"), spec("Other")], now: t0)
            try store.registerWorker(lease("dead", heartbeat: t0))
            try store.registerWorker(lease("alive", heartbeat: t0))
            _ = try store.claim(workerId: "dead", limit: 2, queues: nil, now: t0)
            _ = try store.claim(workerId: "alive", limit: 1, queues: nil, now: t0)
            var seen: [SmrtJob] = []
            let recovered = try #require(
                try store.recoverJobs(ofDeadOwner: "dead", leaseAsJudged: .row(heartbeat: t0), reason: "worker died", now: t0 + 100) { job in
                    seen.append(job)
                    return job.objectType == "Retry" ? t0 + 130 : nil
                }, "the lease is as judged: the jobs are taken")
            #expect(seen.map(\.id) == [ids[0], ids[1]])
            #expect(seen.allSatisfy { $0.status == .running && $0.workerId == "dead" && $0.attempts == 1 })
            #expect(recovered.map(\.job.id) == [ids[0], ids[1]])
            #expect(recovered.map(\.result) == [.retrying(at: t0 + 130), .failed])
            #expect(try store.listWorkers().map(\.id) == ["alive"], "the dead owner's row goes with its jobs")
            let retried = try #require(try store.get(id: ids[0]))
            #expect(retried.status == .pending && retried.workerId == nil && retried.runAt == t0 + 130)
            #expect(retried.lastError == "worker died" && retried.attempts == 1)
            let failed = try #require(try store.get(id: ids[1]))
            #expect(failed.status == .failed && failed.lastError == "worker died" && failed.completedAt == t0 + 100)
            #expect(try status(store, ids[2]) == .running)
            // The dead owner's late report is refused.
            #expect(try store.complete(id: ids[0], workerId: "dead", now: t0 + 101) == .notOwned)
            // An owner without a row and without jobs: nothing to take, but the judgement held.
            #expect(try store.recoverJobs(ofDeadOwner: "gone", leaseAsJudged: .noRow, reason: "x", now: t0 + 102) { _ in nil } == [])
            // A dead lease without jobs: its row is removed all the same.
            try store.registerWorker(lease("idle", heartbeat: t0))
            #expect(try store.recoverJobs(ofDeadOwner: "idle", leaseAsJudged: .row(heartbeat: t0), reason: "x", now: t0 + 103) { _ in nil } == [])
            #expect(try store.listWorkers().map(\.id) == ["alive"])
        }
    }

    /// A rescuer read `owner`'s row at heartbeat t0 and judged it dead; the owner then renewed its lease and claimed a
    /// job before the recovery ran: nothing is taken, the row stays. A row removed since the judgement (another
    /// rescuer, its owner stopping) is not as judged either.
    static func recoveryLeavesALeaseRenewedAfterTheJudgement(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let ids = try store.enqueue(batch: [spec(), spec()], now: t0)
            try store.registerWorker(lease("owner", heartbeat: t0))
            #expect(try store.claim(workerId: "owner", limit: 1, queues: nil, now: t0).map(\.id) == [ids[0]])
            let judged = try #require(try store.listWorkers().first)
            // The owner, on a connection of its own: renew, then claim under the renewed lease.
            let owner = try openPeer()
            try owner.heartbeatWorker(id: "owner", now: t0 + 20, expiresAt: t0 + 50)
            #expect(try owner.claim(workerId: "owner", limit: 1, queues: nil, now: t0 + 20).map(\.id) == [ids[1]])
            var asked = 0
            let recovered = try store.recoverJobs(
                ofDeadOwner: "owner", leaseAsJudged: .row(heartbeat: judged.heartbeat), reason: "lease expired", now: t0 + 40
            ) { _ in
                asked += 1
                return t0 + 41
            }
            #expect(recovered == nil, "renewed after the judgement: nothing is taken")
            #expect(asked == 0)
            for id in ids {
                let job = try #require(try store.get(id: id))
                #expect(job.status == .running && job.workerId == "owner" && job.attempts == 1 && job.lastError == nil)
            }
            #expect(try store.listWorkers().map(\.heartbeat) == [t0 + 20], "the renewed row is kept")
            // Re-registered with a new heartbeat (as a supervisor renews): the same.
            try owner.registerWorker(lease("owner", heartbeat: t0 + 30))
            #expect(try store.recoverJobs(ofDeadOwner: "owner", leaseAsJudged: .row(heartbeat: t0 + 20), reason: "x", now: t0 + 40) { _ in nil } == nil)
            // Removed since the judgement: nothing is taken (the next judgement finds an owner without a row).
            try owner.removeWorker(id: "owner")
            #expect(try store.recoverJobs(ofDeadOwner: "owner", leaseAsJudged: .row(heartbeat: t0 + 30), reason: "x", now: t0 + 40) { _ in nil } == nil)
            #expect(try ids.map { try status(store, $0) } == [.running, .running])
            // Judged again as it is now: taken.
            let taken = try store.recoverJobs(ofDeadOwner: "owner", leaseAsJudged: .noRow, reason: "no lease", now: t0 + 41) { _ in nil }
            #expect(taken?.map(\.job.id) == ids && taken?.allSatisfy { $0.result == .failed } == true)
        }
    }

    /// A rescuer saw `late`'s running job but no row for it (the rows were read first); `late` had registered and
    /// claimed in between: nothing is taken.
    static func recoveryLeavesAnOwnerThatRegisteredAfterTheJudgement(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let ids = try store.enqueue(batch: [spec(), spec()], now: t0)
            let owner = try openPeer()
            try owner.registerWorker(lease("late", heartbeat: t0 + 1))
            #expect(try owner.claim(workerId: "late", limit: 2, queues: nil, now: t0 + 1).map(\.id) == ids)
            let recovered = try store.recoverJobs(ofDeadOwner: "late", leaseAsJudged: .noRow, reason: "no lease", now: t0 + 2) { _ in nil }
            #expect(recovered == nil, "it has a row now: nothing is taken")
            for id in ids {
                let job = try #require(try store.get(id: id))
                #expect(job.status == .running && job.workerId == "late" && job.attempts == 1)
            }
            #expect(try store.listWorkers().map(\.id) == ["late"])
        }
    }

    static func recoverJobsWithStaleHeartbeats(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec(), spec()], now: t0)
            _ = try store.claim(workerId: "w1", limit: 1, queues: nil, now: t0)
            _ = try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0)
            try store.heartbeat(workerId: "w2", now: t0 + 60)
            let recovered = try store.recoverJobs(heartbeatBefore: t0 + 30, reason: "stale", now: t0 + 90) { _ in t0 + 95 }
            #expect(recovered.map(\.job.id) == [ids[0]])
            #expect(recovered.first?.result == .retrying(at: t0 + 95))
            #expect(recovered.first?.job.status == .pending)
            #expect(try status(store, ids[1]) == .running)
        }
    }
}
