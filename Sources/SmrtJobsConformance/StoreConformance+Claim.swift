import Foundation
import SmrtJobs
import Testing

/// Claiming: order, queues and limit, the running fields, and concurrent claimers.
extension StoreConformance {
    static let claimChecks: [ConformanceCheck] = [
        ConformanceCheck("claimOrdersByPriorityThenRunAtThenId", claimOrdersByPriorityThenRunAtThenId),
        ConformanceCheck("claimRespectsQueuesAndLimit", claimRespectsQueuesAndLimit),
        ConformanceCheck("claimSetsRunningFields", claimSetsRunningFields),
        ConformanceCheck("soonestRunAtIsTheNextPendingJobToComeDue", soonestRunAtIsTheNextPendingJobToComeDue),
        ConformanceCheck("fourConnectionsNeverClaimTheSameJob", fourConnectionsNeverClaimTheSameJob),
    ]

    static func claimOrdersByPriorityThenRunAtThenId(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let a = try store.enqueue(spec("A", runAt: t0 - 10), now: t0 - 30)
            let b = try store.enqueue(spec("B", priority: 75, runAt: t0), now: t0 - 30)
            let c = try store.enqueue(spec("C", runAt: t0 - 20), now: t0 - 30)
            let d = try store.enqueue(spec("D", runAt: t0 - 10), now: t0 - 30)
            let future = try store.enqueue(spec("E", priority: 100, runAt: t0 + 60), now: t0 - 30)
            let low = try store.enqueue(spec("F", priority: 25, runAt: t0 - 100), now: t0 - 30)
            let claimed = try store.claim(workerId: "w1", limit: 10, queues: nil, now: t0)
            #expect(claimed.map(\.id) == [b.id, c.id, a.id, d.id, low.id])
            #expect(try status(store, future.id) == .pending)
            // One at a time gives the same order.
            let later = try store.claim(workerId: "w1", limit: 1, queues: nil, now: t0 + 60)
            #expect(later.map(\.id) == [future.id])
        }
    }

    static func claimRespectsQueuesAndLimit(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(
                batch: [spec(queue: "a"), spec(queue: "b"), spec(queue: "c"), spec(queue: "a"), spec(queue: "b")], now: t0)
            #expect(try store.claim(workerId: "w", limit: 0, queues: nil, now: t0).isEmpty)
            #expect(try store.claim(workerId: "w", limit: 5, queues: [], now: t0).isEmpty)
            #expect(try store.claim(workerId: "w", limit: 5, queues: ["nope"], now: t0).isEmpty)
            let one = try store.claim(workerId: "w", limit: 1, queues: ["a"], now: t0)
            #expect(one.map(\.id) == [ids[0]])
            let ab = try store.claim(workerId: "w", limit: 10, queues: ["a", "b"], now: t0)
            #expect(ab.map(\.id) == [ids[1], ids[3], ids[4]])
            let rest = try store.claim(workerId: "w", limit: 10, queues: nil, now: t0)
            #expect(rest.map(\.id) == [ids[2]])
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).isEmpty)
        }
    }

    static func claimSetsRunningFields(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(), now: t0)
            let now = t0 + 5
            let claimed = try #require(try store.claim(workerId: "worker-1", limit: 1, queues: ["default"], now: now).first)
            #expect(claimed.id == job.id)
            #expect(claimed.status == .running)
            #expect(claimed.attempts == 1)
            #expect(claimed.workerId == "worker-1")
            #expect(claimed.startedAt == now)
            #expect(claimed.workerHeartbeat == now)
            #expect(claimed.updatedAt == now)
            #expect(claimed.createdAt == t0)
            #expect(try store.get(id: job.id) == claimed)
        }
    }

    /// The next pending job to come due after a time, across priorities and in the queues asked for; running and
    /// finished jobs, and jobs due at or before the time, do not count.
    static func soonestRunAtIsTheNextPendingJobToComeDue(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(try store.soonestRunAt(after: t0, queues: nil) == nil, "an empty queue")
            _ = try store.enqueue(spec(runAt: t0 - 5), now: t0 - 10)
            _ = try store.enqueue(spec(runAt: t0), now: t0 - 10)
            #expect(try store.soonestRunAt(after: t0, queues: nil) == nil, "only jobs due at or before the time")
            // The soonest is in a low priority, behind later ones of higher priorities; it is in queue "b".
            _ = try store.enqueue(spec(priority: 100, runAt: t0 + 9), now: t0)
            let second = try store.enqueue(spec(priority: 75, runAt: t0 + 0.007), now: t0)
            let soonest = try store.enqueue(spec(queue: "b", priority: 10, runAt: t0 + 0.003), now: t0)
            _ = try store.enqueue(spec(queue: "b", priority: 10, runAt: t0 + 4), now: t0)
            #expect(try store.soonestRunAt(after: t0, queues: nil) == t0 + 0.003)
            #expect(try store.soonestRunAt(after: t0, queues: ["default"]) == t0 + 0.007)
            #expect(try store.soonestRunAt(after: t0, queues: ["b", "nope"]) == t0 + 0.003)
            #expect(try store.soonestRunAt(after: t0, queues: ["nope"]) == nil)
            #expect(try store.soonestRunAt(after: t0, queues: []) == nil)
            #expect(try store.soonestRunAt(after: t0 + 0.003, queues: nil) == t0 + 0.007, "strictly after the time")
            // A job that is no longer pending does not count.
            let taken = try store.claim(workerId: "w", limit: 1, queues: ["b"], now: t0 + 0.003)
            #expect(taken.map(\.id) == [soonest.id])
            #expect(try store.soonestRunAt(after: t0, queues: ["b"]) == t0 + 4)
            _ = try store.cancel(id: second.id, now: t0 + 1)
            #expect(try store.soonestRunAt(after: t0, queues: nil) == t0 + 4)
        }
    }

    /// Four threads, each with its own connection, claim and complete 2,000 jobs in batches of 1 to 7: every job
    /// is claimed exactly once.
    static func fourConnectionsNeverClaimTheSameJob(_ factory: StoreFactory) throws {
        try factory.withStore { setup, openPeer in
            let total = 2000
            _ = try setup.enqueue(batch: (0..<total).map { _ in spec() }, now: t0)
            let claimers = 4
            let claimed = Locked<[Int: Result<[Int64], any Error>]>([:])
            let group = DispatchGroup()
            for i in 0..<claimers {
                let store = try openPeer()  // one connection per thread
                group.enter()
                Thread {
                    let result = Result {
                        var mine: [Int64] = []
                        while true {
                            let jobs = try store.claim(workerId: "w\(i)", limit: 1 + mine.count % 7, queues: nil, now: t0)
                            if jobs.isEmpty { return mine }
                            mine += jobs.map(\.id)
                            let results = try store.finish(
                                jobs.map { AttemptReport(jobId: $0.id, outcome: .completed(result: nil)) }, workerId: "w\(i)",
                                now: t0)
                            guard results.allSatisfy({ $0 == .completed }) else { throw SmrtJobsError.jobNotFound(-1) }
                        }
                    }
                    claimed.withLock { $0[i] = result }
                    group.leave()
                }.start()
            }
            #expect(group.wait(timeout: .now() + 120) == .success)
            var all: [Int64] = []
            for i in 0..<claimers {
                all += try #require(try claimed.withLock { $0[i] }?.get())
            }
            #expect(all.count == total)
            #expect(Set(all).count == total, "a job was claimed twice")
            #expect(try setup.stats(queue: nil) == JobStats(completed: total))
            #expect(try setup.list(JobQuery(limit: total)).allSatisfy { $0.attempts == 1 })
        }
    }
}
