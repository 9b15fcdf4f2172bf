import Foundation
import SmrtJobs
import Testing

/// Unique jobs (`JobSpec.uniqueKey`): one pending or running job per key, atomically, and the optional window.
extension StoreConformance {
    static let uniqueChecks: [ConformanceCheck] = [
        ConformanceCheck("uniqueKeyReturnsTheActiveJob", uniqueKeyReturnsTheActiveJob),
        ConformanceCheck("uniqueKeyIsFreedWhenTheJobEnds", uniqueKeyIsFreedWhenTheJobEnds),
        ConformanceCheck("uniqueWindowMatchesRecentlyFinishedJobs", uniqueWindowMatchesRecentlyFinishedJobs),
        ConformanceCheck("uniqueKeysInABatch", uniqueKeysInABatch),
        ConformanceCheck("uniqueKeyUnderConcurrentEnqueuers", uniqueKeyUnderConcurrentEnqueuers),
        ConformanceCheck("retryRefusesAKeyHeldByAnotherJob", retryRefusesAKeyHeldByAnotherJob),
        ConformanceCheck("uniqueKeyIsValidated", uniqueKeyIsValidated),
    ]

    static func unique(_ key: String, window: Int? = nil, queue: String = "default", maxAttempts: Int = 3) -> JobSpec {
        var spec = spec(queue: queue, maxAttempts: maxAttempts)
        spec.uniqueKey = key
        spec.uniqueWindow = window
        return spec
    }

    static func uniqueKeyReturnsTheActiveJob(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let first = try store.enqueueReportingExisting(unique("k"), now: t0)
            #expect(!first.existing && first.job.uniqueKey == "k" && first.job.status == .pending)
            #expect(try store.get(id: first.job.id) == first.job)

            let again = try store.enqueueReportingExisting(unique("k", queue: "other"), now: t0 + 1)
            #expect(again.existing && again.job == first.job)
            #expect(try store.enqueue(unique("k"), now: t0 + 2).id == first.job.id)

            // Running still holds the key.
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 3)
            let whileRunning = try store.enqueueReportingExisting(unique("k"), now: t0 + 4)
            #expect(whileRunning.existing && whileRunning.job.id == first.job.id && whileRunning.job.status == .running)

            // Other keys and jobs without a key are independent.
            let other = try store.enqueueReportingExisting(unique("k2"), now: t0 + 5)
            #expect(!other.existing && other.job.id != first.job.id)
            let plain = try store.enqueueReportingExisting(spec(), now: t0 + 6)
            #expect(!plain.existing && plain.job.uniqueKey == nil)
            #expect(try store.list(JobQuery()).count == 3)
        }
    }

    static func uniqueKeyIsFreedWhenTheJobEnds(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            // Completed.
            let a = try store.enqueue(unique("k", maxAttempts: 1), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.complete(id: a.id, workerId: "w", now: t0 + 1)
            let b = try store.enqueueReportingExisting(unique("k", maxAttempts: 1), now: t0 + 2)
            #expect(!b.existing && b.job.id != a.id)

            // Failed for good.
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 2)
            #expect(try store.fail(id: b.job.id, workerId: "w", error: "boom", retryAt: nil, now: t0 + 3) == .failed)
            let c = try store.enqueueReportingExisting(unique("k"), now: t0 + 4)
            #expect(!c.existing && c.job.id != b.job.id)

            // A failed attempt that will be retried keeps the key (the job is pending again).
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 4)
            #expect(try store.fail(id: c.job.id, workerId: "w", error: "e", retryAt: t0 + 100, now: t0 + 5) == .retrying(at: t0 + 100))
            #expect(try store.enqueueReportingExisting(unique("k"), now: t0 + 6).job.id == c.job.id)

            // Cancelled.
            _ = try store.cancel(id: c.job.id, now: t0 + 7)
            let d = try store.enqueueReportingExisting(unique("k"), now: t0 + 8)
            #expect(!d.existing && d.job.id != c.job.id)
            #expect(try store.list(JobQuery()).count == 4)
        }
    }

    static func uniqueWindowMatchesRecentlyFinishedJobs(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let done = try store.enqueue(unique("k"), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.complete(id: done.id, workerId: "w", now: t0 + 10)

            // Finished 60 s ago at most: existing; without a window the key is free.
            let within = try store.enqueueReportingExisting(unique("k", window: 60_000), now: t0 + 70)
            #expect(within.existing && within.job.id == done.id && within.job.status == .completed)
            let after = try store.enqueueReportingExisting(unique("k", window: 60_000), now: t0 + 70.001)
            #expect(!after.existing && after.job.id != done.id)

            // An active job comes before a finished one.
            let active = try store.enqueueReportingExisting(unique("k", window: 3_600_000), now: t0 + 71)
            #expect(active.existing && active.job.id == after.job.id)

            // Cancelled within the window counts too; the most recently finished is returned.
            _ = try store.cancel(id: after.job.id, now: t0 + 80)
            let latest = try store.enqueueReportingExisting(unique("k", window: 3_600_000), now: t0 + 90)
            #expect(latest.existing && latest.job.id == after.job.id && latest.job.status == .cancelled)
            #expect(!(try store.enqueueReportingExisting(unique("k"), now: t0 + 91)).existing)
        }
    }

    static func uniqueKeysInABatch(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let held = try store.enqueue(unique("held"), now: t0)
            let batch = [unique("a"), spec(), unique("a"), unique("held"), unique("b"), spec()]
            let jobs = try store.enqueueReportingExisting(batch: batch, now: t0 + 1)
            #expect(jobs.map(\.existing) == [false, false, true, true, false, false])
            #expect(jobs[2].id == jobs[0].id && jobs[3].id == held.id)
            #expect(Set(jobs.map(\.id)).count == 5)
            #expect(try store.get(id: jobs[0].id)?.uniqueKey == "a")
            // The plain batch gives the same ids at the same positions.
            let again = try store.enqueue(batch: [unique("b"), unique("a"), spec()], now: t0 + 2)
            #expect(again[0] == jobs[4].id && again[1] == jobs[0].id && !jobs.map(\.id).contains(again[2]))
            // A bad key rejects the whole batch.
            #expect(throws: SmrtJobsError.self) { try store.enqueue(batch: [unique("c"), unique("")], now: t0 + 3) }
            #expect(try store.list(JobQuery()).count == 6)
        }
    }

    /// Four connections enqueue the same keys at the same time: one job per key, every caller gets its id.
    static func uniqueKeyUnderConcurrentEnqueuers(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let peers = try (0..<4).map { _ in try openPeer() }
            let keys = (0..<25).map { "key-\($0)" }
            let results = Locked<[[Int64]]>(Array(repeating: [], count: peers.count))
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: peers.count) { index in
                do {
                    var ids: [Int64] = []
                    for key in keys { ids.append(try peers[index].enqueue(unique(key), now: t0).id) }
                    results.withLock { $0[index] = ids }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            let failed = failures.withLock { $0 }
            #expect(failed.isEmpty, "\(failed)")
            let stored = try store.list(JobQuery(limit: 1_000))
            #expect(stored.count == keys.count)
            #expect(Set(stored.compactMap(\.uniqueKey)) == Set(keys))
            let byKey = Dictionary(uniqueKeysWithValues: stored.map { ($0.uniqueKey ?? "", $0.id) })
            for ids in results.withLock({ $0 }) { #expect(ids == keys.map { byKey[$0] ?? -1 }) }
        }
    }

    static func retryRefusesAKeyHeldByAnotherJob(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let failed = try store.enqueue(unique("k", maxAttempts: 1), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.fail(id: failed.id, workerId: "w", error: "boom", retryAt: nil, now: t0 + 1)
            let holder = try store.enqueue(unique("k"), now: t0 + 2)
            #expect(holder.id != failed.id)
            #expect(throws: SmrtJobsError.uniqueKeyHeld(jobId: failed.id, key: "k", heldBy: holder.id)) {
                try store.retry(id: failed.id, now: t0 + 3)
            }
            #expect(try status(store, failed.id) == .failed)
            // A pending job with the key may be retried: it holds the key itself.
            #expect(try store.retry(id: holder.id, now: t0 + 4).status == .pending)
            // Once the holder ended, the retry goes through and holds the key again.
            _ = try store.cancel(id: holder.id, now: t0 + 5)
            #expect(try store.retry(id: failed.id, now: t0 + 6).status == .pending)
            #expect(try store.enqueueReportingExisting(unique("k"), now: t0 + 7).job.id == failed.id)
        }
    }

    static func expectInvalid(_ field: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected an invalid \(field)", sourceLocation: sourceLocation)
        } catch SmrtJobsError.invalidValue(let named, _, _) {
            #expect(named == field, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected an invalid \(field), got \(error)", sourceLocation: sourceLocation)
        }
    }

    static func uniqueKeyIsValidated(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(throws: SmrtJobsError.invalidValue(field: "uniqueKey", value: "", reason: "must not be empty")) {
                try store.enqueue(unique(""), now: t0)
            }
            let long = String(repeating: "é", count: 128)  // 256 bytes
            expectInvalid("uniqueKey") { _ = try store.enqueueReportingExisting(unique(long), now: t0) }
            let longest = try store.enqueue(unique(String(repeating: "k", count: 255)), now: t0)
            #expect(longest.uniqueKey?.utf8.count == 255)
            var windowOnly = spec()
            windowOnly.uniqueWindow = 1_000
            expectInvalid("uniqueWindow") { _ = try store.enqueue(windowOnly, now: t0) }
            #expect(try store.list(JobQuery()).count == 1)
        }
    }
}
