import Foundation
import SmrtJobs
import Testing

/// Taking back the jobs of dead owners.
extension StoreConformance {
    static let recoveryChecks: [ConformanceCheck] = [
        ConformanceCheck("recoverJobsOfDeadOwners", recoverJobsOfDeadOwners),
        ConformanceCheck("recoverJobsWithStaleHeartbeats", recoverJobsWithStaleHeartbeats),
    ]

    static func recoverJobsOfDeadOwners(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec("Retry"), spec("Final"), spec("Other")], now: t0)
            _ = try store.claim(workerId: "dead", limit: 2, queues: nil, now: t0)
            _ = try store.claim(workerId: "alive", limit: 1, queues: nil, now: t0)
            var seen: [SmrtJob] = []
            let recovered = try store.recoverJobs(ownedBy: ["dead", "gone"], reason: "worker died", now: t0 + 100) { job in
                seen.append(job)
                return job.objectType == "Retry" ? t0 + 130 : nil
            }
            #expect(seen.map(\.id).sorted() == [ids[0], ids[1]])
            #expect(seen.allSatisfy { $0.status == .running && $0.workerId == "dead" && $0.attempts == 1 })
            let byId = Dictionary(uniqueKeysWithValues: recovered.map { ($0.job.id, $0) })
            #expect(byId.count == 2)
            #expect(byId[ids[0]]?.result == .retrying(at: t0 + 130))
            #expect(byId[ids[1]]?.result == .failed)
            let retried = try #require(try store.get(id: ids[0]))
            #expect(retried.status == .pending && retried.workerId == nil && retried.runAt == t0 + 130)
            #expect(retried.lastError == "worker died" && retried.attempts == 1)
            let failed = try #require(try store.get(id: ids[1]))
            #expect(failed.status == .failed && failed.lastError == "worker died" && failed.completedAt == t0 + 100)
            #expect(try status(store, ids[2]) == .running)
            #expect(try store.recoverJobs(ownedBy: [], reason: "x", now: t0) { _ in nil }.isEmpty)
            // The dead owner's late report is refused.
            #expect(try store.complete(id: ids[0], workerId: "dead", now: t0 + 101) == .notOwned)
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
