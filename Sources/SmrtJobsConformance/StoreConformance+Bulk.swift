import Foundation
import SmrtJobs
import Testing

/// Bulk retry and cancel (`retryJobs`, `cancelJobs`): filters, batches, dry runs.
extension StoreConformance {
    static let bulkChecks: [ConformanceCheck] = [
        ConformanceCheck("bulkRetryFiltersAndPages", bulkRetryFiltersAndPages),
        ConformanceCheck("bulkRetrySkipsHeldUniqueKeys", bulkRetrySkipsHeldUniqueKeys),
        ConformanceCheck("bulkCancelFiltersAndCountsSchedules", bulkCancelFiltersAndCountsSchedules),
    ]

    /// Fails job `id` for good at `now` (it must be the next one a claim takes).
    static func failForGood(_ store: any JobStore, _ id: Int64, now: Date) throws {
        let claimed = try store.claim(workerId: "w", limit: 1, queues: nil, now: now)
        #expect(claimed.map(\.id) == [id])
        #expect(try store.fail(id: id, workerId: "w", error: "boom", retryAt: nil, now: now) == .failed)
    }

    static func bulkRetryFiltersAndPages(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            // Failed: a (Doc.run, default, t0+10), b (Doc.render, default, t0+20), c (Img.run, other, t0+30),
            // d (Doc.run, default, t0+40); e completed; f pending.
            var specs = [spec("Doc"), JobSpec(objectType: "Doc", method: "render"), spec("Img", queue: "other"), spec("Doc")]
            for index in specs.indices { specs[index].maxAttempts = 1 }
            var failed: [Int64] = []
            for (index, s) in specs.enumerated() {
                let id = try store.enqueue(s, now: t0).id
                try failForGood(store, id, now: t0 + Double(10 * (index + 1)))
                failed.append(id)
            }
            let completed = try store.enqueue(spec("Doc"), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.complete(id: completed.id, workerId: "w", now: t0 + 50)
            let pending = try store.enqueue(spec("Doc"), now: t0 + 60)

            func retry(_ filter: JobFilter, limit: Int = 100, dryRun: Bool = false, at: Date = t0 + 100) throws -> BulkActionResult {
                try store.retryJobs(matching: filter, limit: limit, now: at, dryRun: dryRun)
            }
            // Dry runs change nothing.
            #expect(try retry(JobFilter(statuses: [.failed]), dryRun: true) == BulkActionResult(ids: failed, lastId: failed[3]))
            #expect(try retry(JobFilter(statuses: [.failed, .completed]), dryRun: true).ids == failed)
            #expect(try retry(JobFilter(statuses: [.failed], queue: "other"), dryRun: true).ids == [failed[2]])
            #expect(try retry(JobFilter(statuses: [.failed], objectType: "Doc"), dryRun: true).ids == [failed[0], failed[1], failed[3]])
            #expect(try retry(JobFilter(statuses: [.failed], objectType: "Doc", method: "run"), dryRun: true).ids == [failed[0], failed[3]])
            #expect(try retry(JobFilter(statuses: [.failed], since: t0 + 30), dryRun: true).ids == [failed[2], failed[3]])
            #expect(try retry(JobFilter(statuses: [.completed]), dryRun: true) == BulkActionResult(ids: [], lastId: nil))
            #expect(try retry(JobFilter(statuses: []), dryRun: true) == BulkActionResult(ids: [], lastId: nil))
            for id in failed { #expect(try status(store, id) == .failed) }

            // Pages of two, after the cursor.
            let first = try retry(JobFilter(statuses: [.failed], objectType: "Doc"), limit: 2)
            #expect(first == BulkActionResult(ids: [failed[0], failed[1]], lastId: failed[1]))
            let second = try retry(JobFilter(statuses: [.failed], objectType: "Doc", afterId: first.lastId), limit: 2)
            #expect(second == BulkActionResult(ids: [failed[3]], lastId: failed[3]))
            #expect(try retry(JobFilter(statuses: [.failed], objectType: "Doc", afterId: second.lastId), limit: 2).lastId == nil)

            for id in [failed[0], failed[1], failed[3]] {
                let job = try #require(try store.get(id: id))
                #expect(job.status == .pending && job.attempts == 0 && job.lastError == nil && job.completedAt == nil)
                #expect(job.runAt == t0 + 100 && job.updatedAt == t0 + 100)
            }
            #expect(try status(store, failed[2]) == .failed)
            #expect(try status(store, completed.id) == .completed)
            #expect(try store.get(id: pending.id)?.runAt == t0 + 60)
        }
    }

    static func bulkRetrySkipsHeldUniqueKeys(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            // Two failed jobs with key k (nothing active holds it), one failed with k2 while another holds k2.
            let k1 = try store.enqueue(unique("k", maxAttempts: 1), now: t0)
            try failForGood(store, k1.id, now: t0 + 1)
            let k2 = try store.enqueue(unique("k", maxAttempts: 1), now: t0 + 2)
            try failForGood(store, k2.id, now: t0 + 3)
            let held = try store.enqueue(unique("h", maxAttempts: 1), now: t0 + 4)
            try failForGood(store, held.id, now: t0 + 5)
            let holder = try store.enqueue(unique("h"), now: t0 + 6)

            let expected = BulkActionResult(ids: [k1.id], skipped: [k2.id, held.id], lastId: held.id)
            #expect(try store.retryJobs(matching: JobFilter(statuses: [.failed]), limit: 10, now: t0 + 7, dryRun: true) == expected)
            #expect(try store.retryJobs(matching: JobFilter(statuses: [.failed]), limit: 10, now: t0 + 8, dryRun: false) == expected)
            #expect(try status(store, k1.id) == .pending)
            #expect(try status(store, k2.id) == .failed && status(store, held.id) == .failed)
            #expect(try status(store, holder.id) == .pending)
            #expect(try store.enqueueReportingExisting(unique("k"), now: t0 + 9).job.id == k1.id)
        }
    }

    static func bulkCancelFiltersAndCountsSchedules(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let (schedule, fired) = try fired(store, count: 2)
            // Fired jobs run in queue 'agents'; plain ones in default and other.
            let plain = try store.enqueue(batch: [spec("Doc"), spec("Doc", queue: "other"), spec("Img")], now: t0)
            let running = try store.claim(workerId: "w", limit: 1, queues: [ScheduleRunner.queue], now: t0 + 200)
            #expect(running.map(\.id) == [fired[0]])

            func cancel(_ filter: JobFilter, limit: Int = 100, dryRun: Bool = false) throws -> BulkActionResult {
                try store.cancelJobs(matching: filter, limit: limit, now: t0 + 300, dryRun: dryRun)
            }
            #expect(try cancel(JobFilter(statuses: [.pending]), dryRun: true).ids == [fired[1]] + plain)
            #expect(try cancel(JobFilter(statuses: [.pending], queue: "default", objectType: "Doc"), dryRun: true).ids == [plain[0]])
            #expect(try cancel(JobFilter(statuses: [.cancelled, .completed]), dryRun: true).ids == [])
            #expect(try store.getSchedule(id: schedule.id) == schedule)
            for id in plain { #expect(try status(store, id) == .pending) }

            #expect(try cancel(JobFilter(statuses: [.pending], queue: "default", objectType: "Doc")).ids == [plain[0]])
            #expect(try cancel(JobFilter(statuses: [.pending, .running], queue: ScheduleRunner.queue), limit: 1).ids == [fired[0]])
            #expect(try cancel(JobFilter(statuses: [.pending], afterId: fired[0])).ids == [fired[1], plain[1], plain[2]])
            let job = try #require(try store.get(id: fired[1]))
            #expect(job.status == .cancelled && job.completedAt == t0 + 300)
            // Both fired jobs counted on their schedule as failed ("cancelled"), their slots freed.
            let s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 0 && s.runCount == 2 && s.failureCount == 2 && s.lastError == "cancelled")
        }
    }
}
