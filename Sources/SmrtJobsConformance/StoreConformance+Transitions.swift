import Foundation
import SmrtJobs
import Testing

/// Cancel, retry, release and heartbeat.
extension StoreConformance {
    static let transitionChecks: [ConformanceCheck] = [
        ConformanceCheck("cancelTransitions", cancelTransitions),
        ConformanceCheck("retryResetsAJob", retryResetsAJob),
        ConformanceCheck("releaseDoesNotCountTheAttempt", releaseDoesNotCountTheAttempt),
        ConformanceCheck("heartbeatTouchesOnlyTheWorkersJobs", heartbeatTouchesOnlyTheWorkersJobs),
    ]

    static func cancelTransitions(_ factory: StoreFactory) throws {
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

    static func retryResetsAJob(_ factory: StoreFactory) throws {
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

    static func releaseDoesNotCountTheAttempt(_ factory: StoreFactory) throws {
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

    static func heartbeatTouchesOnlyTheWorkersJobs(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec(), spec()], now: t0)
            _ = try store.claim(workerId: "w1", limit: 1, queues: nil, now: t0)
            _ = try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0)
            try store.heartbeat(workerId: "w1", now: t0 + 30)
            #expect(try store.get(id: ids[0])?.workerHeartbeat == t0 + 30)
            #expect(try store.get(id: ids[1])?.workerHeartbeat == t0)
        }
    }
}
