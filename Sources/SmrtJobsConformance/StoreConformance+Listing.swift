import Foundation
import SmrtJobs
import Testing

/// `listReady` and `list(statuses:)`, each checked twice: the store's own answer and the protocol's default
/// (paging through `list`), which stores without a query of their own get.
extension StoreConformance {
    static let listingChecks: [ConformanceCheck] = [
        ConformanceCheck("listReadyIsClaimOrderWithoutClaiming", listReadyIsClaimOrderWithoutClaiming),
        ConformanceCheck("listReadyFiltersByQueuesAndSkipsOtherStatuses", listReadyFiltersByQueuesAndSkipsOtherStatuses),
        ConformanceCheck("listByStatusesIsNewestFirstWithQueueLimitAndOffset", listByStatusesIsNewestFirstWithQueueLimitAndOffset),
        ConformanceCheck("callsWithoutNowUseTheCurrentTime", callsWithoutNowUseTheCurrentTime),
    ]


    static func listingSpec(_ objectType: String, queue: String = "default", priority: Int = 50, runAt: Date? = nil) -> JobSpec {
        JobSpec(objectType: objectType, method: "run", queue: queue, priority: priority, runAt: runAt)
    }

    static func listReady(_ store: StoreFactory.Store, limit: Int, queues: [String]? = nil, now: Date) throws -> [[String]] {
        [
            try store.listReady(limit: limit, queues: queues, now: now).map(\.objectType),
            try store.listReadyByPaging(limit: limit, queues: queues, now: now).map(\.objectType),
        ]
    }

    static func list(_ store: StoreFactory.Store, _ statuses: [JobStatus], queue: String? = nil, limit: Int = 100, offset: Int = 0) throws
        -> [[String]]
    {
        [
            try store.list(statuses: statuses, queue: queue, limit: limit, offset: offset).map(\.objectType),
            try store.listByPaging(statuses: statuses, queue: queue, limit: limit, offset: offset).map(\.objectType),
        ]
    }

    static func listReadyIsClaimOrderWithoutClaiming(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            _ = try store.enqueue(listingSpec("A", runAt: t0 - 10), now: t0 - 30)
            _ = try store.enqueue(listingSpec("B", priority: 75, runAt: t0), now: t0 - 30)
            _ = try store.enqueue(listingSpec("C", runAt: t0 - 20), now: t0 - 30)
            _ = try store.enqueue(listingSpec("D", runAt: t0 - 10), now: t0 - 30)
            _ = try store.enqueue(listingSpec("Future", priority: 100, runAt: t0 + 60), now: t0 - 30)
            _ = try store.enqueue(listingSpec("Low", priority: 25, runAt: t0 - 100), now: t0 - 30)
            let expected = ["B", "C", "A", "D", "Low"]
            #expect(try listReady(store, limit: 10, now: t0) == [expected, expected])
            #expect(try listReady(store, limit: 2, now: t0) == [["B", "C"], ["B", "C"]])
            #expect(try listReady(store, limit: 0, now: t0) == [[], []])
            // Nothing was claimed: the claim takes the same jobs in the same order.
            #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: t0).map(\.objectType) == expected)
            #expect(try listReady(store, limit: 10, now: t0) == [[], []])
            #expect(try listReady(store, limit: 10, now: t0 + 60) == [["Future"], ["Future"]])
        }
    }

    static func listReadyFiltersByQueuesAndSkipsOtherStatuses(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            _ = try store.enqueue(listingSpec("Mail1", queue: "mail"), now: t0)
            _ = try store.enqueue(listingSpec("Report", queue: "reports", priority: 90), now: t0)
            _ = try store.enqueue(listingSpec("Other", queue: "other", priority: 99), now: t0)
            _ = try store.enqueue(listingSpec("Mail2", queue: "mail", priority: 60), now: t0)
            let cancelled = try store.enqueue(listingSpec("Cancelled", queue: "mail", priority: 100), now: t0)
            _ = try store.cancel(id: cancelled.id, now: t0)
            #expect(try listReady(store, limit: 10, queues: ["mail"], now: t0) == [["Mail2", "Mail1"], ["Mail2", "Mail1"]])
            let two = ["Report", "Mail2", "Mail1"]
            #expect(try listReady(store, limit: 10, queues: ["mail", "reports"], now: t0) == [two, two])
            #expect(try listReady(store, limit: 10, queues: [], now: t0) == [[], []])
            #expect(try listReady(store, limit: 10, queues: ["none"], now: t0) == [[], []])
            _ = try store.claim(workerId: "w", limit: 1, queues: ["mail"], now: t0)
            #expect(try listReady(store, limit: 10, queues: ["mail"], now: t0) == [["Mail1"], ["Mail1"]])
        }
    }

    static func listByStatusesIsNewestFirstWithQueueLimitAndOffset(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(
                batch: [listingSpec("P1"), listingSpec("R1"), listingSpec("P2", queue: "mail"), listingSpec("C1"), listingSpec("F1"), listingSpec("Done")], now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: ["default"], now: t0)  // P1 runs (FIFO at equal priority)
            _ = try store.cancel(id: ids[3], now: t0)  // C1
            let running = try store.claim(workerId: "w2", limit: 1, queues: ["default"], now: t0)  // R1
            #expect(running.map(\.objectType) == ["R1"])
            _ = try store.claim(workerId: "w3", limit: 2, queues: ["default"], now: t0)  // F1, Done
            _ = try store.fail(id: ids[4], workerId: "w3", error: "boom", retryAt: nil, now: t0)
            _ = try store.complete(id: ids[5], workerId: "w3", now: t0)

            #expect(try list(store, [.running]) == [["R1", "P1"], ["R1", "P1"]])
            let ended = ["Done", "F1", "C1"]
            #expect(try list(store, [.failed, .cancelled, .completed]) == [ended, ended])
            #expect(try list(store, [.failed, .cancelled, .completed, .failed]) == [ended, ended])
            #expect(try list(store, [.pending, .running], queue: "default") == [["R1", "P1"], ["R1", "P1"]])
            #expect(try list(store, [.pending, .running], queue: "mail") == [["P2"], ["P2"]])
            #expect(try list(store, [.pending, .running, .cancelled], limit: 2, offset: 1) == [["P2", "R1"], ["P2", "R1"]])
            #expect(try list(store, []) == [[], []])
            #expect(try list(store, [.pending], limit: 0) == [[], []])
        }
    }

    static func callsWithoutNowUseTheCurrentTime(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(listingSpec("Now"))
            #expect(abs(job.createdAt.timeIntervalSinceNow) < 60)
            #expect(try store.listReady(limit: 5).map(\.id) == [job.id])
            #expect(try store.cancel(id: job.id).status == .cancelled)
            #expect(try store.retry(id: job.id).status == .pending)
        }
    }
}
