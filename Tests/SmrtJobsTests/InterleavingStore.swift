import Foundation
import SmrtJobs
import SmrtJobsConformance

/// A store that forwards every call to a real one, and runs what a test wants just before a chosen call: another
/// owner's writes slipped in between a rescuer's reads and its recovery.
final class InterleavingStore: ForwardingJobStore, @unchecked Sendable {  // used by one test thread
    /// The calls a hook can come before.
    enum Call: Equatable {
        case listWorkers
        case listRunning
        case recoverJobs(ofDeadOwner: String)
    }

    /// Run once, just before the first call it names (then forgotten).
    private var hooks: [(call: Call, body: () throws -> Void)] = []

    /// Runs `body` just before the next `call`.
    func before(_ call: Call, _ body: @escaping () throws -> Void) {
        hooks.append((call, body))
    }

    private func reach(_ call: Call) throws {
        guard let index = hooks.firstIndex(where: { $0.call == call }) else { return }
        let hook = hooks.remove(at: index)
        try hook.body()
    }

    override func listWorkers() throws -> [WorkerRecord] {
        try reach(.listWorkers)
        return try super.listWorkers()
    }

    override func list(_ query: JobQuery) throws -> [SmrtJob] {
        if query.status == .running { try reach(.listRunning) }
        return try super.list(query)
    }

    override func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        try reach(.recoverJobs(ofDeadOwner: ownerId))
        return try super.recoverJobs(ofDeadOwner: ownerId, leaseAsJudged: lease, reason: reason, now: now, nextRunAt: nextRunAt)
    }
}
