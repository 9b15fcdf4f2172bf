import Foundation
import SmrtJobs
import Testing

/// Input limits every store enforces through `JobSpec.validate()`: args a worker could not receive, and
/// `retries` 0 kept as one attempt.
extension StoreConformance {
    static let limitChecks: [ConformanceCheck] = [
        ConformanceCheck("oversizeArgsAreRefusedAndNothingIsWritten", oversizeArgsAreRefusedAndNothingIsWritten),
        ConformanceCheck("zeroAttemptsAreKeptAsOne", zeroAttemptsAreKeptAsOne),
    ]

    /// Args one byte over `maxArgsBytes` are refused, alone or in a batch (which then writes nothing); args of
    /// exactly the limit are stored and read back whole.
    static func oversizeArgsAreRefusedAndNothingIsWritten(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let limit = JobSpec.maxArgsBytes(objectType: "Doc", method: "run", objectId: nil)
            // {"a":"xxx…"}: eight bytes around the x's.
            func args(_ bytes: Int) -> [String: JSONValue] { ["a": .string(String(repeating: "x", count: bytes - 8))] }
            let over = JobSpec(objectType: "Doc", method: "run", args: args(limit + 1))
            #expect(throws: SmrtJobsError.argsTooLarge(bytes: limit + 1, limit: limit)) { try store.enqueue(over, now: t0) }
            #expect(throws: SmrtJobsError.argsTooLarge(bytes: limit + 1, limit: limit)) {
                try store.enqueue(batch: [spec(), over, spec()], now: t0)
            }
            #expect(try store.stats(queue: nil) == JobStats())
            let fits = try store.enqueue(JobSpec(objectType: "Doc", method: "run", args: args(limit)), now: t0)
            #expect(try store.get(id: fits.id)?.args == args(limit))
        }
    }

    /// A spec of `maxAttempts` 0 ("no retry") is stored as one attempt, and a failed attempt is not retried.
    static func zeroAttemptsAreKeptAsOne(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let job = try store.enqueue(spec(maxAttempts: 0), now: t0)
            #expect(job.maxAttempts == 1)
            #expect(try store.get(id: job.id)?.maxAttempts == 1)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            #expect(try store.fail(id: job.id, workerId: "w", error: "boom", retryAt: t0 + 1, now: t0) == .failed)
            #expect(try store.get(id: job.id)?.attempts == 1)
        }
    }
}
