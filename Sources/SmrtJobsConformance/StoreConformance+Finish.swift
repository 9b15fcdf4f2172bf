import Foundation
import SmrtJobs
import Testing

/// Finishing attempts: results, retries, final failures, ownership, finish-then-claim.
extension StoreConformance {
    static let finishChecks: [ConformanceCheck] = [
        ConformanceCheck("completeStoresResult", completeStoresResult),
        ConformanceCheck("failWithRetryGoesBackToPending", failWithRetryGoesBackToPending),
        ConformanceCheck("failWhenAttemptsAreUsedUpIsFinal", failWhenAttemptsAreUsedUpIsFinal),
        ConformanceCheck("failWithoutRetryTimeIsFinal", failWithoutRetryTimeIsFinal),
        ConformanceCheck("finishIsConditionalOnOwnership", finishIsConditionalOnOwnership),
        ConformanceCheck("finishThenClaimRecordsResultsAndClaimsInOneCall", finishThenClaimRecordsResultsAndClaimsInOneCall),
    ]

    static func completeStoresResult(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            let result: JSONValue = ["summary": "ok \"quoted\"", "pages": 3, "score": 0.25, "tags": ["a", "b"], "none": nil]
            #expect(try store.complete(id: job.id, workerId: "w", result: result, resultPointer: "ptr", now: t0 + 2) == .completed)
            let done = try #require(try store.get(id: job.id))
            #expect(done.status == .completed)
            #expect(done.result == result)
            #expect(done.resultPointer == "ptr")
            #expect(done.completedAt == t0 + 2)
            #expect(done.attempts == 1)
            // Finished once: a second report is not owned.
            #expect(try store.complete(id: job.id, workerId: "w", now: t0 + 3) == .notOwned)
        }
    }

    static func failWithRetryGoesBackToPending(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(maxAttempts: 3), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            let result = try store.fail(id: job.id, workerId: "w", error: "boom", retryAt: t0 + 5, now: t0 + 1)
            #expect(result == .retrying(at: t0 + 5))
            let retrying = try #require(try store.get(id: job.id))
            #expect(retrying.status == .pending)
            #expect(retrying.runAt == t0 + 5)
            #expect(retrying.workerId == nil)
            #expect(retrying.workerHeartbeat == nil)
            #expect(retrying.completedAt == nil)
            #expect(retrying.lastError == "boom")
            #expect(retrying.attempts == 1)
            #expect(try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 4).isEmpty)
            let again = try #require(try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0 + 5).first)
            #expect(again.id == job.id && again.attempts == 2 && again.workerId == "w2")
        }
    }

    static func failWhenAttemptsAreUsedUpIsFinal(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(maxAttempts: 2), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            #expect(try store.fail(id: job.id, workerId: "w", error: "one", retryAt: t0, now: t0) == .retrying(at: t0))
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            #expect(try store.fail(id: job.id, workerId: "w", error: "two", retryAt: t0 + 1, now: t0 + 1) == .failed)
            let failed = try #require(try store.get(id: job.id))
            #expect(failed.status == .failed)
            #expect(failed.attempts == 2)
            #expect(failed.lastError == "two")
            #expect(failed.completedAt == t0 + 1)
            #expect(try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 100).isEmpty)
        }
    }

    static func failWithoutRetryTimeIsFinal(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(maxAttempts: 5), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            #expect(try store.fail(id: job.id, workerId: "w", error: "fatal", retryAt: nil, now: t0) == .failed)
            #expect(try status(store, job.id) == .failed)
        }
    }

    static func finishIsConditionalOnOwnership(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec(), spec(), spec()], now: t0)
            _ = try store.claim(workerId: "w1", limit: 3, queues: nil, now: t0)
            // Another worker id reports: nothing is written.
            #expect(try store.complete(id: ids[0], workerId: "w2", now: t0) == .notOwned)
            #expect(try status(store, ids[0]) == .running)
            // Cancelled meanwhile.
            _ = try store.cancel(id: ids[1], now: t0)
            let results = try store.finish(
                [
                    AttemptReport(jobId: ids[1], outcome: .completed(result: nil)),
                    AttemptReport(jobId: ids[0], outcome: .completed(result: 1)),
                    AttemptReport(jobId: ids[2], outcome: .failed(error: "x", retryAt: t0 + 9)),
                    AttemptReport(jobId: 999_999, outcome: .failed(error: "x", retryAt: nil)),
                ], workerId: "w1", now: t0 + 1)
            #expect(results == [.notOwned, .completed, .retrying(at: t0 + 9), .notOwned])
            #expect(try status(store, ids[1]) == .cancelled)
            #expect(try store.finish([], workerId: "w1", now: t0) == [])
        }
    }

    static func finishThenClaimRecordsResultsAndClaimsInOneCall(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec(priority: 90), spec(priority: 80), spec(), spec(), spec(queue: "other")], now: t0)
            _ = try store.claim(workerId: "w1", limit: 2, queues: nil, now: t0)
            // The attempt of ids[0] really started later than its claim (it waited in the runner's hands).
            let done = try store.finish(
                [
                    AttemptReport(jobId: ids[0], outcome: .completed(result: nil), startedAt: t0 + 3),
                    AttemptReport(jobId: ids[1], outcome: .failed(error: "e", retryAt: nil)),
                    AttemptReport(jobId: 999_999, outcome: .completed(result: nil)),
                ], workerId: "w1", now: t0 + 5, thenClaim: 5, queues: ["default"])
            #expect(done.finished == [.completed, .failed, .notOwned])
            #expect(done.claimed.map(\.id) == [ids[2], ids[3]])
            #expect(done.claimed.allSatisfy { $0.status == .running && $0.workerId == "w1" && $0.attempts == 1 })
            #expect(try store.get(id: ids[0])?.startedAt == t0 + 3)
            // Without a start time the claim's stays.
            #expect(try store.get(id: ids[1])?.startedAt == t0)
            #expect(try status(store, ids[4]) == .pending)
            // Nothing to record, nothing to claim.
            let none = try store.finish([], workerId: "w1", now: t0, thenClaim: 0, queues: nil)
            #expect(none.finished.isEmpty && none.claimed.isEmpty)
            // Only a claim.
            let claimOnly = try store.finish([], workerId: "w2", now: t0 + 6, thenClaim: 3, queues: nil)
            #expect(claimOnly.finished.isEmpty && claimOnly.claimed.map(\.id) == [ids[4]])
        }
    }
}
