import Foundation
import SmrtJobs
import Testing

/// Enqueueing: defaults, every field, validation, batches, ids.
extension StoreConformance {
    static let enqueueChecks: [ConformanceCheck] = [
        ConformanceCheck("enqueueAppliesDefaults", enqueueAppliesDefaults),
        ConformanceCheck("enqueueRoundTripsEveryField", enqueueRoundTripsEveryField),
        ConformanceCheck("enqueueRejectsInvalidSpecs", enqueueRejectsInvalidSpecs),
        ConformanceCheck("batchIsAllOrNothing", batchIsAllOrNothing),
        ConformanceCheck("idsAreNeverReused", idsAreNeverReused),
    ]

    static func enqueueAppliesDefaults(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(JobSpec(objectType: "Doc", method: "summarize"), now: t0)
            #expect(job.id > 0)
            #expect(job.status == .pending)
            #expect(job.queue == "default")
            #expect(job.priority == 50)
            #expect(job.attempts == 0)
            #expect(job.maxAttempts == 3)
            #expect(job.timeout == 300_000)
            #expect(job.timeoutBehavior == .fail)
            #expect(job.retryStrategy == .default)
            #expect(job.args == [:])
            #expect(job.runAt == t0)
            #expect(job.createdAt == t0)
            #expect(job.updatedAt == t0)
            #expect(job.objectId == nil && job.tenantId == nil && job.workerId == nil && job.startedAt == nil)
            #expect(job.completedAt == nil && job.lastError == nil && job.result == nil && job.resultPointer == nil)
            #expect(try store.get(id: job.id) == job)
        }
    }

    static func enqueueRoundTripsEveryField(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let args: [String: JSONValue] = [
                "text": "quote \" backslash \\ newline \n tab \t é 😀", "n": 42, "x": 1.5, "neg": -7, "ok": true,
                "none": nil, "list": [1, "two", [3]], "nested": ["a": ["b": "c"]],
            ]
            var s = JobSpec(
                objectType: "Document", method: "generate", objectId: "doc-1", args: args, queue: "mail", priority: 75,
                runAt: t0 + 60, maxAttempts: 5, timeout: 1234, timeoutBehavior: .kill,
                retryStrategy: .linear(delay: 250), tenantId: "acme", resultPointer: "s3://bucket/key")
            let job = try store.enqueue(s, now: t0)
            let read = try #require(try store.get(id: job.id))
            #expect(read == job)
            #expect(read.args == args)
            #expect(read.objectId == "doc-1" && read.tenantId == "acme" && read.queue == "mail")
            #expect(read.runAt == t0 + 60 && read.priority == 75 && read.maxAttempts == 5)
            #expect(read.timeout == 1234 && read.timeoutBehavior == .kill)
            #expect(read.retryStrategy == .linear(delay: 250))
            #expect(read.resultPointer == "s3://bucket/key")
            #expect(read.description == "Document#doc-1.generate()")

            s.retryStrategy = .none
            s.timeoutBehavior = .warn
            #expect(try store.get(id: store.enqueue(s, now: t0).id)?.retryStrategy == RetryStrategy.none)
            s.retryStrategy = .exponential(initialDelay: 10, multiplier: 3, maxDelay: 99, jitter: false)
            #expect(
                try store.get(id: store.enqueue(s, now: t0).id)?.retryStrategy
                    == .exponential(initialDelay: 10, multiplier: 3, maxDelay: 99, jitter: false))
        }
    }

    static func enqueueRejectsInvalidSpecs(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(throws: SmrtJobsError.self) { try store.enqueue(spec(maxAttempts: 26), now: t0) }
            #expect(throws: SmrtJobsError.self) { try store.enqueue(spec(method: ""), now: t0) }
            #expect(throws: SmrtJobsError.self) { try store.enqueue(spec(queue: ""), now: t0) }
            let stats = try store.stats(queue: nil)
            #expect(stats == JobStats())
        }
    }

    static func batchIsAllOrNothing(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(throws: SmrtJobsError.self) {
                try store.enqueue(batch: [spec(), spec(), spec(method: ""), spec()], now: t0)
            }
            #expect(try store.list(JobQuery()).isEmpty)
            let ids = try store.enqueue(batch: [spec("A"), spec("B"), spec("C")], now: t0)
            #expect(ids.count == 3)
            #expect(ids == ids.sorted() && Set(ids).count == 3)
            #expect(try ids.map { try store.get(id: $0)?.objectType } == ["A", "B", "C"])
            #expect(try store.enqueue(batch: [], now: t0) == [])
        }
    }

    static func idsAreNeverReused(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let first = try store.enqueue(spec(), now: t0)
            _ = try store.cancel(id: first.id, now: t0)
            #expect(try store.cleanup(CleanupOptions(cancelledBefore: t0 + 1), now: t0 + 1) == 1)
            let second = try store.enqueue(spec(), now: t0)
            #expect(second.id > first.id)
        }
    }
}
