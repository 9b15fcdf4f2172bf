import Foundation
import SmrtJobs

/// A store that forwards every call to a real one, and runs what a test wants just before a chosen call: another
/// owner's writes slipped in between a rescuer's reads and its recovery.
final class InterleavingStore: JobStore, @unchecked Sendable {  // used by one test thread
    /// The calls a hook can come before.
    enum Call: Equatable {
        case listWorkers
        case listRunning
        case recoverJobs(ofDeadOwner: String)
    }

    let inner: any JobStore
    /// Run once, just before the first call it names (then forgotten).
    private var hooks: [(call: Call, body: () throws -> Void)] = []

    init(_ inner: any JobStore) {
        self.inner = inner
    }

    /// Runs `body` just before the next `call`.
    func before(_ call: Call, _ body: @escaping () throws -> Void) {
        hooks.append((call, body))
    }

    private func reach(_ call: Call) throws {
        guard let index = hooks.firstIndex(where: { $0.call == call }) else { return }
        let hook = hooks.remove(at: index)
        try hook.body()
    }

    // MARK: With hooks

    func listWorkers() throws -> [WorkerRecord] {
        try reach(.listWorkers)
        return try inner.listWorkers()
    }

    func list(_ query: JobQuery) throws -> [SmrtJob] {
        if query.status == .running { try reach(.listRunning) }
        return try inner.list(query)
    }

    func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        try reach(.recoverJobs(ofDeadOwner: ownerId))
        return try inner.recoverJobs(ofDeadOwner: ownerId, leaseAsJudged: lease, reason: reason, now: now, nextRunAt: nextRunAt)
    }

    // MARK: Forwarded as they are

    func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob { try inner.enqueue(spec, now: now) }
    func enqueue(batch: [JobSpec], now: Date) throws -> [Int64] { try inner.enqueue(batch: batch, now: now) }
    func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool) {
        try inner.enqueueReportingExisting(spec, now: now)
    }
    func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob] {
        try inner.enqueueReportingExisting(batch: batch, now: now)
    }
    func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try inner.claim(workerId: workerId, limit: limit, queues: queues, now: now)
    }
    func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult] {
        try inner.finish(reports, workerId: workerId, now: now)
    }
    func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        try inner.finish(reports, workerId: workerId, now: now, thenClaim: limit, queues: queues)
    }
    func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int {
        try inner.release(jobIds: jobIds, workerId: workerId, now: now)
    }
    func cancel(id: Int64, now: Date) throws -> SmrtJob { try inner.cancel(id: id, now: now) }
    func retry(id: Int64, now: Date) throws -> SmrtJob { try inner.retry(id: id, now: now) }
    func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        try inner.retryJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
    }
    func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        try inner.cancelJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
    }
    func heartbeat(workerId: String, now: Date) throws { try inner.heartbeat(workerId: workerId, now: now) }
    func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        try inner.recoverJobs(heartbeatBefore: heartbeatBefore, reason: reason, now: now, nextRunAt: nextRunAt)
    }
    func get(id: Int64) throws -> SmrtJob? { try inner.get(id: id) }
    func stats(queue: String?) throws -> JobStats { try inner.stats(queue: queue) }
    func cleanup(_ options: CleanupOptions, now: Date) throws -> Int { try inner.cleanup(options, now: now) }
    func registerWorker(_ record: WorkerRecord) throws { try inner.registerWorker(record) }
    func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws {
        try inner.heartbeatWorker(id: id, now: now, expiresAt: expiresAt)
    }
    func removeWorker(id: String) throws { try inner.removeWorker(id: id) }
    func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try inner.listReady(limit: limit, queues: queues, now: now)
    }
    func soonestRunAt(after: Date, queues: [String]?) throws -> Date? { try inner.soonestRunAt(after: after, queues: queues) }
    func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        try inner.list(statuses: statuses, queue: queue, limit: limit, offset: offset)
    }
    func databaseTime() throws -> Date? { try inner.databaseTime() }
}
