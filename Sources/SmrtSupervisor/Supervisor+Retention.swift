import Foundation
import Logging
import SmrtJobs

/// Pruning finished jobs past `--retain`, so the jobs table does not grow without bound.
///
/// Off the hot path: every `retentionInterval` ms (a minute by default) the database thread deletes the oldest
/// finished jobs past their status's retention, `batch` at a time, each batch its own short transaction between
/// the group commits of results and claims, and at most `batchesPerTick` batches per tick (the rest waits for the
/// next). Every supervisor on a database prunes; their deletes of the same rows only wait for each other.
extension Supervisor {
    /// Jobs deleted per transaction.
    static let retentionBatch = 500
    /// Transactions per tick.
    static let retentionBatchesPerTick = 20

    func pruneFinishedJobs(then done: @escaping () -> Void) {
        let policy = configuration.retention
        guard policy.prunes else { return done() }
        database.perform({ context in
            var total = 0
            for _ in 0..<Self.retentionBatchesPerTick {
                guard let options = policy.cleanupOptions(now: context.clock.now(), limit: Self.retentionBatch) else { break }
                let deleted = try context.store.cleanup(options, now: context.clock.now())
                total += deleted
                if deleted < Self.retentionBatch { break }
            }
            return total
        }) { [self] result in
            done()
            switch result {
            case .success(let pruned) where pruned > 0:
                metrics.pruned(pruned)
                logger.info(
                    "pruned \(pruned) finished job(s) past their retention (\(policy))",
                    metadata: ["event": "jobs_pruned", "jobs": .int(pruned), "retain": .string("\(policy)")])
            case .success:
                break
            case .failure(let error):
                logger.warning("pruning finished jobs failed: \(error)", metadata: ["event": "prune_failed"])
            }
        }
    }
}
