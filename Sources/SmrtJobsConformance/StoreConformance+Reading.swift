import Foundation
import SmrtJobs
import Testing

/// Reading: get, list, stats, cleanup.
extension StoreConformance {
    static let readingChecks: [ConformanceCheck] = [
        ConformanceCheck("listFiltersAndPages", listFiltersAndPages),
        ConformanceCheck("statsCountPerStatus", statsCountPerStatus),
        ConformanceCheck("cleanupDeletesOldFinishedJobs", cleanupDeletesOldFinishedJobs),
    ]

    static func listFiltersAndPages(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(
                batch: [spec(queue: "a"), spec(queue: "b"), spec(queue: "a"), spec(queue: "b"), spec(queue: "a")], now: t0)
            _ = try store.cancel(id: ids[2], now: t0)
            _ = try store.cancel(id: ids[3], now: t0)
            #expect(try store.list(JobQuery()).map(\.id) == ids.reversed())
            #expect(try store.list(JobQuery(status: .cancelled)).map(\.id) == [ids[3], ids[2]])
            #expect(try store.list(JobQuery(queue: "a")).map(\.id) == [ids[4], ids[2], ids[0]])
            #expect(try store.list(JobQuery(status: .pending, queue: "a")).map(\.id) == [ids[4], ids[0]])
            #expect(try store.list(JobQuery(limit: 2, offset: 1)).map(\.id) == [ids[3], ids[2]])
            #expect(try store.list(JobQuery(status: .running)).isEmpty)
            #expect(try store.get(id: 424_242) == nil)
            // Running jobs (which runners list at every heartbeat) filter and page the same way.
            _ = try store.claim(workerId: "w", limit: 2, queues: nil, now: t0)
            #expect(try store.list(JobQuery(status: .running)).map(\.id) == [ids[1], ids[0]])
            #expect(try store.list(JobQuery(status: .running, queue: "a")).map(\.id) == [ids[0]])
            #expect(try store.list(JobQuery(status: .running, limit: 1, offset: 1)).map(\.id) == [ids[0]])
        }
    }

    static func statsCountPerStatus(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(try store.stats(queue: nil) == JobStats())
            let ids = try store.enqueue(
                batch: [spec(queue: "a"), spec(queue: "a"), spec(queue: "a"), spec(queue: "b"), spec(queue: "b")], now: t0)
            _ = try store.claim(workerId: "w", limit: 3, queues: ["a"], now: t0)
            _ = try store.complete(id: ids[0], workerId: "w", now: t0)
            _ = try store.fail(id: ids[1], workerId: "w", error: "e", retryAt: nil, now: t0)
            _ = try store.cancel(id: ids[3], now: t0)
            #expect(try store.stats(queue: nil) == JobStats(pending: 1, running: 1, completed: 1, failed: 1, cancelled: 1))
            #expect(try store.stats(queue: "a") == JobStats(pending: 0, running: 1, completed: 1, failed: 1, cancelled: 0))
            #expect(try store.stats(queue: "b") == JobStats(pending: 1, cancelled: 1))
            #expect(try store.stats(queue: "zzz") == JobStats())
        }
    }

    static func cleanupDeletesOldFinishedJobs(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: (0..<7).map { _ in spec() }, now: t0)
            _ = try store.claim(workerId: "w", limit: 4, queues: nil, now: t0)
            _ = try store.complete(id: ids[0], workerId: "w", now: t0 + 10)
            _ = try store.complete(id: ids[1], workerId: "w", now: t0 + 20)
            _ = try store.complete(id: ids[2], workerId: "w", now: t0 + 100)
            _ = try store.fail(id: ids[3], workerId: "w", error: "e", retryAt: nil, now: t0 + 10)
            _ = try store.cancel(id: ids[4], now: t0 + 10)
            // ids[5], ids[6] stay pending and are never touched.
            let everything = CleanupOptions(completedBefore: t0 + 50, failedBefore: t0 + 50, cancelledBefore: t0 + 50)
            var dry = everything
            dry.dryRun = true
            #expect(try store.cleanup(dry, now: t0 + 200) == 4)
            #expect(try store.list(JobQuery()).count == 7)
            dry.limit = 3
            #expect(try store.cleanup(dry, now: t0 + 200) == 3)
            #expect(try store.cleanup(CleanupOptions(completedBefore: t0 + 50, limit: 1), now: t0 + 200) == 1)
            #expect(try store.get(id: ids[0]) == nil)
            #expect(try store.get(id: ids[1]) != nil)
            #expect(try store.cleanup(everything, now: t0 + 200) == 3)
            #expect(try store.list(JobQuery()).map(\.id).sorted() == [ids[2], ids[5], ids[6]])
            #expect(try store.cleanup(CleanupOptions(), now: t0 + 200) == 0)
        }
    }
}
