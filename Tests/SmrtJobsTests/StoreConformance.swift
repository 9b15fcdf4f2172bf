import Foundation
import Testing
@testable import SmrtJobs

/// The behaviour every `JobStore & ScheduleStore` must have, run against each entry of `StoreFactory.all`.
///
/// Times are passed in (stores never read the clock) and are whole milliseconds, the precision stores keep.
@Suite("Store conformance")
struct StoreConformance {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var t0: Date { Self.t0 }

    func spec(
        _ objectType: String = "Doc", method: String = "run", queue: String = "default", priority: Int = 50,
        runAt: Date? = nil, maxAttempts: Int = 3
    ) -> JobSpec {
        JobSpec(objectType: objectType, method: method, queue: queue, priority: priority, runAt: runAt, maxAttempts: maxAttempts)
    }

    func status(_ store: any JobStore, _ id: Int64) throws -> JobStatus? { try store.get(id: id)?.status }

    // MARK: Enqueue

    @Test(arguments: StoreFactory.all)
    func enqueueAppliesDefaults(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func enqueueRoundTripsEveryField(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func enqueueRejectsInvalidSpecs(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(throws: SmrtJobsError.self) { try store.enqueue(spec(maxAttempts: 26), now: t0) }
            #expect(throws: SmrtJobsError.self) { try store.enqueue(spec(method: ""), now: t0) }
            #expect(throws: SmrtJobsError.self) { try store.enqueue(spec(queue: ""), now: t0) }
            let stats = try store.stats(queue: nil)
            #expect(stats == JobStats())
        }
    }

    @Test(arguments: StoreFactory.all)
    func batchIsAllOrNothing(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func idsAreNeverReused(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let first = try store.enqueue(spec(), now: t0)
            _ = try store.cancel(id: first.id, now: t0)
            #expect(try store.cleanup(CleanupOptions(cancelledBefore: t0 + 1), now: t0 + 1) == 1)
            let second = try store.enqueue(spec(), now: t0)
            #expect(second.id > first.id)
        }
    }

    // MARK: Claim

    @Test(arguments: StoreFactory.all)
    func claimOrdersByPriorityThenRunAtThenId(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func claimRespectsQueuesAndLimit(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func claimSetsRunningFields(_ factory: StoreFactory) throws {
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

    // MARK: Finish

    @Test(arguments: StoreFactory.all)
    func completeStoresResult(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func failWithRetryGoesBackToPending(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func failWhenAttemptsAreUsedUpIsFinal(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func failWithoutRetryTimeIsFinal(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(maxAttempts: 5), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            #expect(try store.fail(id: job.id, workerId: "w", error: "fatal", retryAt: nil, now: t0) == .failed)
            #expect(try status(store, job.id) == .failed)
        }
    }

    @Test(arguments: StoreFactory.all)
    func finishIsConditionalOnOwnership(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func finishThenClaimRecordsResultsAndClaimsInOneCall(_ factory: StoreFactory) throws {
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

    // MARK: Cancel, retry, release, heartbeat

    @Test(arguments: StoreFactory.all)
    func cancelTransitions(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let pending = try store.enqueue(spec(priority: 1), now: t0)
            let running = try store.enqueue(spec(priority: 100), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            let cancelled = try store.cancel(id: pending.id, now: t0 + 1)
            #expect(cancelled.status == .cancelled && cancelled.completedAt == t0 + 1)
            #expect(try store.cancel(id: running.id, now: t0 + 2).status == .cancelled)

            let failing = try store.enqueue(spec(), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.fail(id: failing.id, workerId: "w", error: "e", retryAt: nil, now: t0)
            #expect(try store.cancel(id: failing.id, now: t0).status == .cancelled)

            let completing = try store.enqueue(spec(), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.complete(id: completing.id, workerId: "w", now: t0)
            #expect(throws: SmrtJobsError.invalidTransition(jobId: completing.id, from: .completed, action: "cancel")) {
                try store.cancel(id: completing.id, now: t0)
            }
            #expect(throws: SmrtJobsError.invalidTransition(jobId: pending.id, from: .cancelled, action: "cancel")) {
                try store.cancel(id: pending.id, now: t0)
            }
            #expect(throws: SmrtJobsError.jobNotFound(424_242)) { try store.cancel(id: 424_242, now: t0) }
        }
    }

    @Test(arguments: StoreFactory.all)
    func retryResetsAJob(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(maxAttempts: 1), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            _ = try store.fail(id: job.id, workerId: "w", error: "boom", retryAt: nil, now: t0 + 1)
            let retried = try store.retry(id: job.id, now: t0 + 10)
            #expect(retried.status == .pending)
            #expect(retried.attempts == 0)
            #expect(retried.lastError == nil && retried.startedAt == nil && retried.completedAt == nil)
            #expect(retried.workerId == nil && retried.workerHeartbeat == nil)
            #expect(retried.runAt == t0 + 10 && retried.updatedAt == t0 + 10)
            #expect(try store.get(id: job.id) == retried)

            _ = try store.cancel(id: job.id, now: t0 + 11)
            #expect(try store.retry(id: job.id, now: t0 + 12).status == .pending)

            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0 + 12)
            _ = try store.complete(id: job.id, workerId: "w", now: t0 + 13)
            #expect(throws: SmrtJobsError.invalidTransition(jobId: job.id, from: .completed, action: "retry")) {
                try store.retry(id: job.id, now: t0 + 14)
            }
            #expect(throws: SmrtJobsError.jobNotFound(424_242)) { try store.retry(id: 424_242, now: t0) }
        }
    }

    @Test(arguments: StoreFactory.all)
    func releaseDoesNotCountTheAttempt(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec(), spec(), spec()], now: t0)
            _ = try store.claim(workerId: "w1", limit: 2, queues: nil, now: t0)
            _ = try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0)
            #expect(try store.release(jobIds: [ids[2]], workerId: "w1", now: t0) == 0)
            #expect(try store.release(jobIds: [ids[0], ids[1]], workerId: "w1", now: t0 + 1) == 2)
            for id in ids[0...1] {
                let job = try #require(try store.get(id: id))
                #expect(job.status == .pending && job.attempts == 0 && job.workerId == nil)
            }
            #expect(try status(store, ids[2]) == .running)
            #expect(try store.claim(workerId: "w3", limit: 5, queues: nil, now: t0 + 1).map(\.attempts) == [1, 1])
        }
    }

    @Test(arguments: StoreFactory.all)
    func heartbeatTouchesOnlyTheWorkersJobs(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec(), spec()], now: t0)
            _ = try store.claim(workerId: "w1", limit: 1, queues: nil, now: t0)
            _ = try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0)
            try store.heartbeat(workerId: "w1", now: t0 + 30)
            #expect(try store.get(id: ids[0])?.workerHeartbeat == t0 + 30)
            #expect(try store.get(id: ids[1])?.workerHeartbeat == t0)
        }
    }

    // MARK: Recovery

    @Test(arguments: StoreFactory.all)
    func recoverJobsOfDeadOwners(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func recoverJobsWithStaleHeartbeats(_ factory: StoreFactory) throws {
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

    // MARK: Reading

    @Test(arguments: StoreFactory.all)
    func listFiltersAndPages(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func statsCountPerStatus(_ factory: StoreFactory) throws {
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

    @Test(arguments: StoreFactory.all)
    func cleanupDeletesOldFinishedJobs(_ factory: StoreFactory) throws {
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

    // MARK: Workers and change token

    @Test(arguments: StoreFactory.all)
    func workersTable(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            #expect(try store.listWorkers().isEmpty)
            let a = WorkerRecord(id: "sup-a", pid: 100, host: "h1", startedAt: t0, heartbeat: t0)
            let b = WorkerRecord(id: "sup-b", pid: 200, host: "h2", startedAt: t0, heartbeat: t0)
            try store.registerWorker(b)
            try store.registerWorker(a)
            #expect(try store.listWorkers() == [a, b])
            try store.heartbeatWorker(id: "sup-a", now: t0 + 15)
            #expect(try store.listWorkers().first?.heartbeat == t0 + 15)
            let restarted = WorkerRecord(id: "sup-b", pid: 300, host: "h2", startedAt: t0 + 20, heartbeat: t0 + 20)
            try store.registerWorker(restarted)
            #expect(try store.listWorkers().last == restarted)
            try store.removeWorker(id: "sup-a")
            #expect(try store.listWorkers() == [restarted])
            try store.heartbeatWorker(id: "sup-a", now: t0 + 30)
            #expect(try store.listWorkers() == [restarted])
        }
    }

    // MARK: Schedules

    func scheduleSpec(_ agentType: String = "Reporter", maxConcurrent: Int = 1, enabled: Bool = true) -> AgentScheduleSpec {
        AgentScheduleSpec(
            agentType: agentType, cron: "*/5 * * * *", method: "report", agentId: "r-1", methodArgs: ["depth": 2],
            agentConfig: ["model": "small"], timezone: "Europe/Berlin", maxConcurrent: maxConcurrent, timeout: 60_000,
            enabled: enabled, tenantId: "acme")
    }

    @Test(arguments: StoreFactory.all)
    func scheduleCrud(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let created = try store.createSchedule(scheduleSpec(), nextRun: t0 + 300, status: .active, lastError: nil, now: t0)
            #expect(created.id > 0)
            #expect(created.agentType == "Reporter" && created.agentId == "r-1" && created.tenantId == "acme")
            #expect(created.agentConfig == ["model": "small"] && created.methodArgs == ["depth": 2])
            #expect(created.cron == "*/5 * * * *" && created.timezone == "Europe/Berlin" && created.method == "report")
            #expect(created.enabled && created.status == .active && created.nextRun == t0 + 300)
            #expect(created.maxConcurrent == 1 && created.runningCount == 0 && created.timeout == 60_000)
            #expect(created.runCount == 0 && created.successCount == 0 && created.failureCount == 0)
            #expect(created.lastRun == nil && created.lastStatus == nil && created.lastError == nil)
            #expect(created.createdAt == t0 && created.updatedAt == t0)
            #expect(try store.getSchedule(id: created.id) == created)

            let plain = try store.createSchedule(
                AgentScheduleSpec(agentType: "Static", cron: "bad cron"), nextRun: nil, status: .error,
                lastError: "Invalid cron expression: bad cron", now: t0)
            #expect(plain.agentConfig == nil && plain.agentId == nil && plain.methodArgs == [:])
            #expect(plain.status == .error && plain.lastError == "Invalid cron expression: bad cron" && plain.nextRun == nil)
            #expect(try store.listSchedules().map(\.id) == [created.id, plain.id])

            let paused = try store.updateSchedule(
                id: created.id, enabled: false, status: .paused, nextRun: .some(nil), lastError: .some("why"), now: t0 + 1)
            #expect(!paused.enabled && paused.status == .paused && paused.nextRun == nil && paused.lastError == "why")
            #expect(paused.updatedAt == t0 + 1)
            let untouched = try store.updateSchedule(
                id: created.id, enabled: nil, status: nil, nextRun: nil, lastError: nil, now: t0 + 2)
            #expect(!untouched.enabled && untouched.status == .paused && untouched.lastError == "why")
            let resumed = try store.updateSchedule(
                id: created.id, enabled: true, status: .active, nextRun: .some(t0 + 600), lastError: .some(nil), now: t0 + 3)
            #expect(resumed.enabled && resumed.status == .active && resumed.nextRun == t0 + 600 && resumed.lastError == nil)
            #expect(try store.getSchedule(id: created.id) == resumed)

            #expect(throws: SmrtJobsError.scheduleNotFound(999)) {
                try store.updateSchedule(id: 999, enabled: true, status: nil, nextRun: nil, lastError: nil, now: t0)
            }
            try store.deleteSchedule(id: plain.id)
            #expect(try store.getSchedule(id: plain.id) == nil)
            #expect(throws: SmrtJobsError.scheduleNotFound(plain.id)) { try store.deleteSchedule(id: plain.id) }
            #expect(try store.listSchedules().map(\.id) == [created.id])
        }
    }

    @Test(arguments: StoreFactory.all)
    func dueSchedulesSelectsRunnableOnes(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let late = try store.createSchedule(scheduleSpec("Late"), nextRun: t0 - 60, status: .active, lastError: nil, now: t0)
            let now = try store.createSchedule(scheduleSpec("Now"), nextRun: t0, status: .active, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Future"), nextRun: t0 + 1, status: .active, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Off", enabled: false), nextRun: t0 - 60, status: .active, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Paused"), nextRun: t0 - 60, status: .paused, lastError: nil, now: t0)
            _ = try store.createSchedule(scheduleSpec("Broken"), nextRun: nil, status: .error, lastError: "x", now: t0)
            let busy = try store.createSchedule(scheduleSpec("Busy"), nextRun: t0 - 120, status: .active, lastError: nil, now: t0)
            let wide = try store.createSchedule(
                scheduleSpec("Wide", maxConcurrent: 2), nextRun: t0 - 30, status: .active, lastError: nil, now: t0)

            #expect(try store.dueSchedules(now: t0, limit: 50).map(\.id) == [busy.id, late.id, wide.id, now.id])
            _ = try store.fire(scheduleId: busy.id, slot: t0 - 120, nextRun: t0 - 1, job: spec(), now: t0)
            _ = try store.fire(scheduleId: wide.id, slot: t0 - 30, nextRun: t0 - 1, job: spec(), now: t0)
            // Busy is at max_concurrent; Wide (max 2) is still due at its new next_run.
            #expect(try store.dueSchedules(now: t0, limit: 50).map(\.id) == [late.id, wide.id, now.id])
            #expect(try store.dueSchedules(now: t0, limit: 2).map(\.id) == [late.id, wide.id])
        }
    }

    @Test(arguments: StoreFactory.all)
    func fireIsACompareAndSwap(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let schedule = try store.createSchedule(scheduleSpec(), nextRun: t0, status: .active, lastError: nil, now: t0)
            var job = JobSpec(objectType: "Reporter", method: "report", objectId: "r-1", queue: "agents", priority: 75)
            job.args = ["depth": 2, "_scheduleId": .int(schedule.id)]
            let jobId = try #require(try store.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 300, job: job, now: t0 + 1))
            let fired = try #require(try store.get(id: jobId))
            #expect(fired.queue == "agents" && fired.priority == 75 && fired.scheduleId == schedule.id)
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.nextRun == t0 + 300 && after.runningCount == 1)

            // A second scheduler (another connection) trying the same slot gets nil and writes nothing.
            let peer = try openPeer()
            #expect(try peer.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 300, job: job, now: t0 + 2) == nil)
            #expect(try store.stats(queue: nil).pending == 1)
            #expect(try store.getSchedule(id: schedule.id)?.runningCount == 1)

            // Even with next_run moved back onto the fired slot, the slot does not fire twice.
            _ = try store.updateSchedule(id: schedule.id, enabled: nil, status: nil, nextRun: .some(t0), lastError: nil, now: t0 + 3)
            #expect(try store.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 300, job: job, now: t0 + 4) == nil)
            let unchanged = try #require(try store.getSchedule(id: schedule.id))
            #expect(unchanged.nextRun == t0 && unchanged.runningCount == 1)
            #expect(try store.list(JobQuery()).map(\.id) == [jobId])

            // Disabled or missing schedules do not fire.
            _ = try store.updateSchedule(id: schedule.id, enabled: false, status: nil, nextRun: .some(t0 + 300), lastError: nil, now: t0 + 5)
            #expect(try store.fire(scheduleId: schedule.id, slot: t0 + 300, nextRun: t0 + 600, job: job, now: t0 + 300) == nil)
            #expect(try store.fire(scheduleId: 999, slot: t0, nextRun: nil, job: job, now: t0) == nil)
            // An invalid job is an error, not a silent skip, and changes nothing.
            _ = try store.updateSchedule(id: schedule.id, enabled: true, status: nil, nextRun: nil, lastError: nil, now: t0 + 6)
            #expect(throws: SmrtJobsError.self) {
                try store.fire(scheduleId: schedule.id, slot: t0 + 300, nextRun: t0 + 600, job: spec(method: ""), now: t0 + 300)
            }
            #expect(try store.getSchedule(id: schedule.id)?.nextRun == t0 + 300)
            // The next slot fires normally.
            #expect(try store.fire(scheduleId: schedule.id, slot: t0 + 300, nextRun: nil, job: job, now: t0 + 300) != nil)
            #expect(try store.getSchedule(id: schedule.id)?.runningCount == 2)
        }
    }

    @Test(arguments: StoreFactory.all)
    func recordFireErrorKeepsNextRun(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let schedule = try store.createSchedule(scheduleSpec(), nextRun: t0, status: .active, lastError: nil, now: t0)
            try store.recordFireError(scheduleId: schedule.id, error: "Unknown object type: Reporter", now: t0 + 1)
            let after = try #require(try store.getSchedule(id: schedule.id))
            #expect(after.lastError == "Unknown object type: Reporter")
            #expect(after.nextRun == t0 && after.status == .active && after.runningCount == 0)
        }
    }

    @Test(arguments: StoreFactory.all)
    func handleJobCompletionUpdatesCounters(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let schedule = try store.createSchedule(
                scheduleSpec(maxConcurrent: 3), nextRun: t0, status: .active, lastError: nil, now: t0)
            _ = try store.fire(scheduleId: schedule.id, slot: t0, nextRun: t0 + 60, job: spec(), now: t0)
            _ = try store.fire(scheduleId: schedule.id, slot: t0 + 60, nextRun: t0 + 120, job: spec(), now: t0 + 60)
            try store.handleJobCompletion(scheduleId: schedule.id, success: false, message: "boom", now: t0 + 70)
            var s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 1 && s.runCount == 1 && s.failureCount == 1 && s.successCount == 0)
            #expect(s.lastStatus == .failed && s.lastError == "boom" && s.lastRun == t0 + 70)
            try store.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil, now: t0 + 80)
            s = try #require(try store.getSchedule(id: schedule.id))
            #expect(s.runningCount == 0 && s.runCount == 2 && s.failureCount == 1 && s.successCount == 1)
            #expect(s.lastStatus == .success && s.lastError == nil && s.lastRun == t0 + 80)
            try store.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil, now: t0 + 90)
            #expect(try store.getSchedule(id: schedule.id)?.runningCount == 0)
        }
    }
}
