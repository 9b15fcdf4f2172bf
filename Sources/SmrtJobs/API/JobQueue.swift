import Foundation
import Logging

/// The app's async door to the queue: enqueue jobs, read them, cancel and retry them, wait for them.
///
/// ```swift
/// let queue = try await JobQueue.open("jobs.sqlite")          // module SmrtBackends
/// let handle = try await queue.background("Reports", "build", args: ["month": "2026-11"])
///     .priority("high").retries(5).enqueue()
/// let outcome = try await handle.wait(timeout: .seconds(120))
/// await queue.close()
/// ```
///
/// Every store call runs on the queue's own `StoreExecutor` thread, which holds the queue's one
/// connection: callers suspend instead of blocking the cooperative thread pool while the database is busy.
/// `JobHandle.wait` wakes on the backend's change signal, one per queue, started by the first wait and
/// shared by all; its poll is only the fallback.
///
/// One queue per database is enough for a whole app; it is safe to share between tasks. `close()` stops the
/// thread and the change signal; a queue released without `close()` stops them too, without waiting.
public final class JobQueue: Sendable {
    /// The database this queue talks to.
    public let backend: any JobBackend
    let executor: StoreExecutor<any JobStore & ScheduleStore>
    let changes = ChangeFanOut()
    let logger: Logger

    /// Opens a connection to `backend` on a new executor thread, as `access` allows: by default creating the
    /// database or migrating its schema; `.readOnly` for a tool that only reads and waits (its writes throw).
    ///
    /// - Throws: `SmrtJobsError.database` when the database cannot be opened; `.noSuchDatabase` or
    ///   `.notAQueueDatabase` when `access` refuses it.
    public init(
        backend: any JobBackend, access: StoreAccess = .createAnywhere, logger: Logger = Logger(label: "smrt.queue")
    ) async throws {
        self.backend = backend
        self.logger = logger
        executor = try await StoreExecutor(name: "smrt-queue") { try backend.openStore(access) }
    }

    deinit {
        Self.shutDown(executor: executor, changes: changes)
    }

    /// The database, with any password replaced, for messages.
    public var displayName: String { backend.displayName }

    // MARK: Building and enqueueing

    /// A builder for a job calling `method` on `objectType` (on the object `objectId`, or a static job);
    /// nothing is written until its `enqueue()`.
    public func background(
        _ objectType: String, _ method: String, objectId: String? = nil, args: [String: JSONValue] = [:]
    ) -> JobBuilder {
        JobBuilder(queue: self, objectType: objectType, method: method, objectId: objectId, args: args)
    }

    /// Inserts one job (validated first; `spec.runAt == nil` means `now`) and returns its handle.
    @discardableResult
    public func enqueue(_ spec: JobSpec, now: Date = Date()) async throws -> JobHandle {
        let outcome = try await withStore { try $0.enqueueReportingExisting(spec, now: now) }
        return JobHandle(id: outcome.job.id, queue: self, existing: outcome.existing)
    }

    /// Inserts every job in one transaction, or none of them; the handles are in the order of `specs`.
    @discardableResult
    public func enqueue(batch specs: [JobSpec], now: Date = Date()) async throws -> [JobHandle] {
        let jobs = try await withStore { try $0.enqueueReportingExisting(batch: specs, now: now) }
        return jobs.map { JobHandle(id: $0.id, queue: self, existing: $0.existing) }
    }

    /// Inserts the jobs of `builders` (each resolved at `now`) in one transaction, or none of them.
    @discardableResult
    public func enqueue(batch builders: [JobBuilder], now: Date = Date()) async throws -> [JobHandle] {
        try await enqueue(batch: builders.map { $0.resolvedSpec(now: now) }, now: now)
    }

    // MARK: Reading and changing jobs

    /// The handle of an existing job (nothing is read).
    public func handle(id: Int64) -> JobHandle {
        JobHandle(id: id, queue: self)
    }

    /// The job, or nil when there is none with this id.
    public func job(id: Int64) async throws -> SmrtJob? {
        try await withStore { try $0.get(id: id) }
    }

    /// Jobs matching `query`, newest first.
    public func list(_ query: JobQuery = JobQuery()) async throws -> [SmrtJob] {
        try await withStore { try $0.list(query) }
    }

    /// Jobs in any of `statuses` (of `queue`, or of every queue), newest first.
    public func list(
        statuses: [JobStatus], queue: String? = nil, limit: Int = 100, offset: Int = 0
    ) async throws -> [SmrtJob] {
        try await withStore { try $0.list(statuses: statuses, queue: queue, limit: limit, offset: offset) }
    }

    /// Pending jobs that may run at `now`, in the order they would be claimed (priority, then run time,
    /// then id), at most `limit`.
    public func listReady(limit: Int = 100, queues: [String]? = nil, now: Date = Date()) async throws -> [SmrtJob] {
        try await withStore { try $0.listReady(limit: limit, queues: queues, now: now) }
    }

    /// Job counts per status, of `queue` or of every queue.
    public func stats(queue: String? = nil) async throws -> JobStats {
        try await withStore { try $0.stats(queue: queue) }
    }

    /// pending, running or failed → cancelled.
    ///
    /// - Throws: `SmrtJobsError.invalidTransition` for a completed or cancelled job, `jobNotFound`.
    @discardableResult
    public func cancel(id: Int64, now: Date = Date()) async throws -> SmrtJob {
        try await withStore { try $0.cancel(id: id, now: now) }
    }

    /// Any status but completed → pending now, attempts reset.
    ///
    /// - Throws: `SmrtJobsError.invalidTransition` for a completed job, `jobNotFound`.
    @discardableResult
    public func retry(id: Int64, now: Date = Date()) async throws -> SmrtJob {
        try await withStore { try $0.retry(id: id, now: now) }
    }

    /// Runs `body` with the queue's store on its executor thread: for store calls this type does not wrap
    /// (schedules, cleanup). Keep `body` to store calls; it holds up every other call of the queue.
    public func withStore<T: Sendable>(
        _ body: @escaping @Sendable (any JobStore & ScheduleStore) throws -> T
    ) async throws -> T {
        do {
            return try await executor.run(body)
        } catch SmrtJobsError.closed {
            throw SmrtJobsError.closed(what: "the job queue on \(displayName)")
        }
    }

    // MARK: Closing

    /// Stops the change signal, lets the store calls already queued finish, closes the connection and ends
    /// the executor thread; returns when all of that is done. Waiting `JobHandle.wait` calls and later calls
    /// throw `SmrtJobsError.closed`. Safe to call more than once.
    public func close() async {
        Self.shutDown(executor: executor, changes: changes)
        await executor.close()
    }

    /// Whether `close()` has finished (or the queue was released).
    public var isClosed: Bool { executor.isClosed }

    /// Closes without waiting: the signal is stopped on the executor thread, as its last call.
    private static func shutDown(executor: StoreExecutor<any JobStore & ScheduleStore>, changes: ChangeFanOut) {
        let signal = changes.close()
        if let signal {
            do {
                try executor.submit { _ in signal.stop() }
            } catch {
                // The executor was closed already: nothing else will stop the signal.
                signal.stop()
            }
        }
        executor.core.requestClose()
    }
}
