import Foundation
import SmrtJobs
import Testing

/// Queues as objects: pause/resume and global concurrency limits, enforced by the claim; the queue list.
extension StoreConformance {
    static let queueChecks: [ConformanceCheck] = [
        ConformanceCheck("pausedQueueIsNotClaimedOthersAre", pausedQueueIsNotClaimedOthersAre),
        ConformanceCheck("queueSettingsAreSetSeparately", queueSettingsAreSetSeparately),
        ConformanceCheck("concurrencyLimitCapsClaimsInClaimOrder", concurrencyLimitCapsClaimsInClaimOrder),
        ConformanceCheck("concurrencyLimitHoldsAcrossConnections", concurrencyLimitHoldsAcrossConnections),
        ConformanceCheck("listQueuesCountsEveryQueue", listQueuesCountsEveryQueue),
    ]

    static func queues(_ store: any JobStore) throws -> any QueueStore {
        try #require(store as? any QueueStore, "the store does not implement QueueStore")
    }

    static func pausedQueueIsNotClaimedOthersAre(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let q = try queues(store)
            let ids = try store.enqueue(
                batch: [spec(queue: "a", priority: 90), spec(queue: "b"), spec(queue: "a", priority: 90), spec(queue: "b")], now: t0)
            try q.setQueue(name: "a", paused: true, concurrency: nil, now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: ["a"], now: t0).isEmpty)
            #expect(try store.claim(workerId: "w", limit: 1, queues: ["a", "b"], now: t0).map(\.id) == [ids[1]])
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.id) == [ids[3]])
            // Unknown queues may be paused (a queue exists once named); pausing twice changes nothing.
            try q.setQueue(name: "never-used", paused: true, concurrency: nil, now: t0)
            try q.setQueue(name: "a", paused: true, concurrency: nil, now: t0)
            _ = try store.enqueue(spec(queue: "c"), now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.queue) == ["c"])
            // finish(thenClaim:) respects the pause too.
            let done = try store.finish([], workerId: "w", now: t0, thenClaim: 10, queues: nil)
            #expect(done.claimed.isEmpty)
            #expect(try status(store, ids[0]) == .pending)
            try q.setQueue(name: "a", paused: false, concurrency: nil, now: t0 + 1)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0 + 1).map(\.id) == [ids[0], ids[2]])
        }
    }

    static func queueSettingsAreSetSeparately(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let q = try queues(store)
            func row(_ name: String) throws -> QueueInfo? { try q.listQueues(now: t0).first { $0.name == name } }
            #expect(try q.listQueues(now: t0).isEmpty)
            try q.setQueue(name: "mail", paused: true, concurrency: nil, now: t0)
            #expect(try row("mail") == QueueInfo(name: "mail", paused: true, concurrency: nil, updatedAt: t0))
            try q.setQueue(name: "mail", paused: nil, concurrency: .limit(3), now: t0 + 1)
            #expect(try row("mail") == QueueInfo(name: "mail", paused: true, concurrency: 3, updatedAt: t0 + 1))
            try q.setQueue(name: "mail", paused: false, concurrency: nil, now: t0 + 2)
            #expect(try row("mail") == QueueInfo(name: "mail", paused: false, concurrency: 3, updatedAt: t0 + 2))
            try q.setQueue(name: "mail", paused: nil, concurrency: .unlimited, now: t0 + 3)
            #expect(try row("mail") == QueueInfo(name: "mail", paused: false, concurrency: nil, updatedAt: t0 + 3))
            try q.setQueue(name: "new", paused: nil, concurrency: .limit(0), now: t0)
            #expect(try row("new") == QueueInfo(name: "new", paused: false, concurrency: 0, updatedAt: t0))
            #expect(throws: SmrtJobsError.self) { try q.setQueue(name: "mail", paused: nil, concurrency: .limit(-1), now: t0) }
            #expect(throws: SmrtJobsError.self) { try q.setQueue(name: "", paused: true, concurrency: nil, now: t0) }
            #expect(try row("mail")?.concurrency == nil)
        }
    }

    static func concurrencyLimitCapsClaimsInClaimOrder(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let q = try queues(store)
            try q.setQueue(name: "lim", paused: nil, concurrency: .limit(2), now: t0)
            let lim = try store.enqueue(batch: (0..<5).map { spec(queue: "lim", priority: 90, runAt: t0 - Double(10 - $0)) }, now: t0)
            let other = try store.enqueue(batch: [spec(queue: "other", priority: 80), spec(queue: "other", priority: 10)], now: t0)
            // Claim order across queues: lim's first two (priority 90), then other's, lim's others held back.
            let first = try store.claim(workerId: "w", limit: 3, queues: nil, now: t0)
            #expect(first.map(\.id) == [lim[0], lim[1], other[0]])
            #expect(try store.claim(workerId: "w", limit: 10, queues: ["lim"], now: t0).isEmpty)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.id) == [other[1]])
            // One ends: one more may start, in the same transaction as the finish.
            let next = try store.finish(
                [AttemptReport(jobId: lim[0], outcome: .completed(result: nil))], workerId: "w", now: t0, thenClaim: 10,
                queues: ["lim", "other"])
            #expect(next.finished == [.completed])
            #expect(next.claimed.map(\.id) == [lim[2]])
            // A raised limit lets more start; a lowered one lets none start until the running drop below it.
            try q.setQueue(name: "lim", paused: nil, concurrency: .limit(3), now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.id) == [lim[3]])
            try q.setQueue(name: "lim", paused: nil, concurrency: .limit(1), now: t0)
            _ = try store.complete(id: lim[1], workerId: "w", now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).isEmpty)
            // Limit 0: nothing starts.
            try q.setQueue(name: "zero", paused: nil, concurrency: .limit(0), now: t0)
            _ = try store.enqueue(spec(queue: "zero"), now: t0)
            _ = try store.complete(id: lim[2], workerId: "w", now: t0)
            _ = try store.complete(id: lim[3], workerId: "w", now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.id) == [lim[4]])
            #expect(try store.claim(workerId: "w", limit: 10, queues: ["zero"], now: t0).isEmpty)
            // Unlimited again: the queue flows.
            try q.setQueue(name: "zero", paused: nil, concurrency: .unlimited, now: t0)
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.queue) == ["zero"])
        }
    }

    /// Four threads, each with its own connection, claim (1 to 4 at a time) and complete 120 jobs of a queue
    /// limited to 3 and 120 of an unlimited one: the database never shows more than 3 of the limited queue
    /// running, and every job runs once.
    static func concurrencyLimitHoldsAcrossConnections(_ factory: StoreFactory) throws {
        try factory.withStore { setup, openPeer in
            let limit = 3
            let perQueue = 120
            try queues(setup).setQueue(name: "lim", paused: nil, concurrency: .limit(limit), now: t0)
            _ = try setup.enqueue(batch: (0..<perQueue).flatMap { _ in [spec(queue: "lim"), spec(queue: "free")] }, now: t0)
            let held = Locked(0)
            let maxHeld = Locked(0)
            let maxSeen = Locked(0)
            let errors = Locked<[String]>([])
            let group = DispatchGroup()
            for i in 0..<4 {
                let store = try openPeer()
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        var round = 0
                        while true {
                            round += 1
                            let jobs = try store.claim(workerId: "w\(i)", limit: 1 + round % 4, queues: nil, now: t0)
                            if jobs.isEmpty {
                                if try store.stats(queue: nil).pending == 0 { return }
                                Thread.sleep(forTimeInterval: 0.001)  // the limited queue is full: others finish
                                continue
                            }
                            let mine = jobs.filter { $0.queue == "lim" }.count
                            let now = held.withLock { $0 += mine; return $0 }
                            maxHeld.withLock { $0 = max($0, now) }
                            let running = try store.stats(queue: "lim").running
                            maxSeen.withLock { $0 = max($0, running) }
                            held.withLock { $0 -= mine }
                            _ = try store.finish(
                                jobs.map { AttemptReport(jobId: $0.id, outcome: .completed(result: nil)) }, workerId: "w\(i)", now: t0)
                        }
                    } catch {
                        errors.withLock { $0.append("\(error)") }
                    }
                }.start()
            }
            #expect(group.wait(timeout: .now() + 120) == .success)
            #expect(errors.withLock { $0 } == [])
            #expect(maxHeld.withLock { $0 } <= limit)
            #expect(maxSeen.withLock { $0 } <= limit)
            #expect(maxSeen.withLock { $0 } >= 1)
            #expect(try setup.stats(queue: nil) == JobStats(completed: 2 * perQueue))
            #expect(try setup.list(JobQuery(limit: 2 * perQueue)).allSatisfy { $0.attempts == 1 })
        }
    }

    static func listQueuesCountsEveryQueue(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let q = try queues(store)
            let a = try store.enqueue(
                batch: [
                    spec(queue: "a", runAt: t0 - 30), spec(queue: "a", runAt: t0 - 10), spec(queue: "a", runAt: t0 + 60),
                    spec(queue: "a", runAt: t0 - 5), spec(queue: "a", runAt: t0 - 5),
                ], now: t0 - 60)
            let b = try store.enqueue(spec(queue: "b", runAt: t0 + 10), now: t0 - 60)
            let claimed = try store.claim(workerId: "w", limit: 2, queues: ["a"], now: t0)
            #expect(claimed.map(\.id) == [a[0], a[1]])
            _ = try store.complete(id: a[0], workerId: "w", now: t0)
            _ = try store.cancel(id: a[4], now: t0)
            try q.setQueue(name: "idle", paused: true, concurrency: .limit(4), now: t0)
            let list = try q.listQueues(now: t0)
            #expect(list.map(\.name) == ["a", "b", "idle"])
            #expect(list[0] == QueueInfo(
                name: "a", counts: JobStats(pending: 2, running: 1, completed: 1, cancelled: 1), oldestReadyRunAt: t0 - 5))
            #expect(list[1] == QueueInfo(name: "b", counts: JobStats(pending: 1)))
            #expect(list[2] == QueueInfo(name: "idle", paused: true, concurrency: 4, updatedAt: t0))
            _ = b
        }
    }
}
