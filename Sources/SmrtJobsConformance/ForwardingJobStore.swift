import Foundation
import SmrtJobs

/// A `JobStore` that forwards every call to a wrapped store, for tests that watch or interleave store calls:
/// subclass it and override only the calls to intercept, forwarding them with `super` (or to `wrapped`).
///
/// ```swift
/// final class PrintingClaims: ForwardingJobStore, @unchecked Sendable {  // no state of its own
///     override func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
///         let jobs = try super.claim(workerId: workerId, limit: limit, queues: queues, now: now)
///         print("\(workerId) claimed \(jobs.map(\.id))")
///         return jobs
///     }
/// }
/// ```
///
/// Every requirement is forwarded, also those the protocol gives a default (`finish(_:workerId:now:thenClaim:queues:)`,
/// `databaseTime()`): the wrapped store's own answer is kept (SQLite's one-transaction group commit, PostgreSQL's
/// server clock), and an override is reached through `any JobStore` too.
///
/// Sendable as `JobStore` requires: the wrapped store is, and this class adds no state of its own. A subclass restates
/// `@unchecked Sendable` (Swift asks it to) and answers for the state it adds (e.g. used by one thread at a time, as a
/// store is).
open class ForwardingJobStore: JobStore, @unchecked Sendable {
    /// The store every call goes to.
    public let wrapped: any JobStore

    /// Forwards to `wrapped`.
    public init(_ wrapped: any JobStore) {
        self.wrapped = wrapped
    }

    // MARK: Enqueue

    open func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob { try wrapped.enqueue(spec, now: now) }

    open func enqueue(batch: [JobSpec], now: Date) throws -> [Int64] { try wrapped.enqueue(batch: batch, now: now) }

    open func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool) {
        try wrapped.enqueueReportingExisting(spec, now: now)
    }

    open func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob] {
        try wrapped.enqueueReportingExisting(batch: batch, now: now)
    }

    // MARK: Claims and attempts

    open func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try wrapped.claim(workerId: workerId, limit: limit, queues: queues, now: now)
    }

    open func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult] {
        try wrapped.finish(reports, workerId: workerId, now: now)
    }

    open func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        try wrapped.finish(reports, workerId: workerId, now: now, thenClaim: limit, queues: queues)
    }

    @discardableResult
    open func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int {
        try wrapped.release(jobIds: jobIds, workerId: workerId, now: now)
    }

    open func heartbeat(workerId: String, now: Date) throws { try wrapped.heartbeat(workerId: workerId, now: now) }

    // MARK: Changes by people

    open func cancel(id: Int64, now: Date) throws -> SmrtJob { try wrapped.cancel(id: id, now: now) }

    open func retry(id: Int64, now: Date) throws -> SmrtJob { try wrapped.retry(id: id, now: now) }

    open func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        try wrapped.retryJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
    }

    open func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        try wrapped.cancelJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
    }

    open func cleanup(_ options: CleanupOptions, now: Date) throws -> Int { try wrapped.cleanup(options, now: now) }

    // MARK: Recovery

    open func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        try wrapped.recoverJobs(ofDeadOwner: ownerId, leaseAsJudged: lease, reason: reason, now: now, nextRunAt: nextRunAt)
    }

    open func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        try wrapped.recoverJobs(heartbeatBefore: heartbeatBefore, reason: reason, now: now, nextRunAt: nextRunAt)
    }

    // MARK: Reading

    open func get(id: Int64) throws -> SmrtJob? { try wrapped.get(id: id) }

    open func list(_ query: JobQuery) throws -> [SmrtJob] { try wrapped.list(query) }

    open func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        try wrapped.list(statuses: statuses, queue: queue, limit: limit, offset: offset)
    }

    open func stats(queue: String?) throws -> JobStats { try wrapped.stats(queue: queue) }

    open func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try wrapped.listReady(limit: limit, queues: queues, now: now)
    }

    open func soonestRunAt(after: Date, queues: [String]?) throws -> Date? {
        try wrapped.soonestRunAt(after: after, queues: queues)
    }

    open func databaseTime() throws -> Date? { try wrapped.databaseTime() }

    // MARK: Leases

    open func registerWorker(_ record: WorkerRecord) throws { try wrapped.registerWorker(record) }

    open func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws {
        try wrapped.heartbeatWorker(id: id, now: now, expiresAt: expiresAt)
    }

    open func removeWorker(id: String) throws { try wrapped.removeWorker(id: id) }

    open func listWorkers() throws -> [WorkerRecord] { try wrapped.listWorkers() }
}
