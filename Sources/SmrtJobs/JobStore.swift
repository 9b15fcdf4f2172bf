import Foundation

/// What happened to one attempt, as reported by whoever ran it.
public enum AttemptOutcome: Sendable, Equatable {
    case completed(result: JSONValue?, resultPointer: String? = nil)
    /// `retryAt` is when to run again, or nil to fail for good. The store still fails the job for good
    /// when its attempts are used up, whatever `retryAt` says.
    case failed(error: String, retryAt: Date?)
}

/// One finished attempt, for `JobStore.finish`.
public struct AttemptReport: Sendable, Equatable {
    public var jobId: Int64
    public var outcome: AttemptOutcome
    /// When the attempt really began (the job was handed to whoever ran it), if later than its claim: a
    /// runner that claims ahead (prefetch) passes it and the store writes it as `startedAt`. Nil keeps the
    /// claim time.
    public var startedAt: Date?
    /// The worker process that ran the attempt (stored as `SmrtJob.workerPid`), when a supervisor ran it.
    public var workerPid: Int32?
    /// How that process's attempt ended, for people (stored as `SmrtJob.workerExit`): "returned a result",
    /// "exit code 3", "killed by signal 9", "killed at its 1500 ms timeout", …
    public var workerExit: String?
    public init(
        jobId: Int64, outcome: AttemptOutcome, startedAt: Date? = nil, workerPid: Int32? = nil, workerExit: String? = nil
    ) {
        self.jobId = jobId
        self.outcome = outcome
        self.startedAt = startedAt
        self.workerPid = workerPid
        self.workerExit = workerExit
    }
}

/// What `finish` (or a recovery) did to a job.
public enum FinishResult: Sendable, Equatable {
    case completed
    case retrying(at: Date)
    case failed
    /// The job was no longer running under this worker id (cancelled meanwhile, or taken back after its
    /// owner's lease expired): nothing was written.
    case notOwned
}

/// Filters for `JobStore.list`.
public struct JobQuery: Sendable, Equatable {
    public var status: JobStatus?
    public var queue: String?
    public var limit: Int
    public var offset: Int
    public init(status: JobStatus? = nil, queue: String? = nil, limit: Int = 100, offset: Int = 0) {
        self.status = status
        self.queue = queue
        self.limit = limit
        self.offset = offset
    }
}

/// Job counts per status.
public struct JobStats: Sendable, Equatable, Codable {
    public var pending = 0
    public var running = 0
    public var completed = 0
    public var failed = 0
    public var cancelled = 0
    public init(pending: Int = 0, running: Int = 0, completed: Int = 0, failed: Int = 0, cancelled: Int = 0) {
        self.pending = pending
        self.running = running
        self.completed = completed
        self.failed = failed
        self.cancelled = cancelled
    }
}

/// What `JobStore.cleanup` deletes: terminal jobs finished before the given times.
public struct CleanupOptions: Sendable, Equatable {
    public var completedBefore: Date?
    public var failedBefore: Date?
    public var cancelledBefore: Date?
    public var limit: Int?
    /// Count what would be deleted, delete nothing.
    public var dryRun: Bool
    public init(
        completedBefore: Date? = nil, failedBefore: Date? = nil, cancelledBefore: Date? = nil, limit: Int? = nil,
        dryRun: Bool = false
    ) {
        self.completedBefore = completedBefore
        self.failedBefore = failedBefore
        self.cancelledBefore = cancelledBefore
        self.limit = limit
        self.dryRun = dryRun
    }
}

/// A process that owns running jobs under a lease (a row of `_smrt_workers`).
public struct WorkerRecord: Sendable, Equatable, Codable {
    /// The id written into `worker_id` of the jobs it claims.
    public var id: String
    public var pid: Int32
    public var host: String
    public var startedAt: Date
    /// When the owner last renewed the lease.
    public var heartbeat: Date
    /// Until when the lease holds, as its owner set it at the last renewal (its heartbeat plus its own TTL):
    /// others judge the lease by this, never by a TTL of their own. Nil on rows written before leases carried
    /// their expiry (they are judged by the heartbeat and the judge's TTL).
    public var expiresAt: Date?
    /// What the owner published about itself at its last renewal (supervisors do; other runners leave it nil).
    public var stats: SupervisorSnapshot?
    public init(
        id: String, pid: Int32, host: String, startedAt: Date, heartbeat: Date, expiresAt: Date? = nil,
        stats: SupervisorSnapshot? = nil
    ) {
        self.id = id
        self.pid = pid
        self.host = host
        self.startedAt = startedAt
        self.heartbeat = heartbeat
        self.expiresAt = expiresAt
        self.stats = stats
    }
}

/// A job taken back from a dead owner, and what was done with it.
public struct RecoveredJob: Sendable, Equatable {
    public var job: SmrtJob
    public var result: FinishResult
    public init(job: SmrtJob, result: FinishResult) {
        self.job = job
        self.result = result
    }
}

/// Persistence for jobs and worker leases.
///
/// The SQL dialect lives inside each store; everything else (retry policy, time, ids of workers) is passed
/// in, so every store can pass the same conformance suite. Methods are synchronous: the supervisor calls
/// them from its own database thread, never from its event loop.
/// Every state change is conditional on the current state, so concurrent callers cannot corrupt a job.
public protocol JobStore: AnyObject, Sendable {
    /// Inserts one job (validated first). `spec.runAt == nil` means `now`.
    func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob
    /// Inserts all jobs in one transaction, or none of them. Returns their ids in order.
    func enqueue(batch: [JobSpec], now: Date) throws -> [Int64]
    /// `enqueue`, telling whether the job was there already: a spec with a `uniqueKey` held by a pending or
    /// running job (or, with `uniqueWindow`, by one finished at or after `now - uniqueWindow`) returns that job
    /// and inserts nothing. Atomic against concurrent enqueuers: the store's unique index over the keys of
    /// pending and running jobs decides, not a read before the insert.
    func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool)
    /// `enqueue(batch:)`, telling which jobs were there already. A key given twice in the batch resolves to
    /// the first one's job.
    func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob]
    /// Atomically claims up to `limit` pending jobs with `runAt <= now` (of `queues`, or of any queue when
    /// nil), ordered by priority DESC, runAt ASC, id ASC: sets running, workerId, startedAt,
    /// workerHeartbeat, and attempts + 1. Two callers never get the same job.
    func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob]
    /// Records finished attempts in one transaction. Each write is conditional on the job still running
    /// under `workerId`; otherwise its result is `.notOwned`. Results are in the order of `reports`.
    /// A job a schedule fired (`_scheduleId`) that ends for good here (completed, or failed for good) is
    /// counted on its schedule in the same transaction (see `ScheduleStore.handleJobCompletion`); a schedule
    /// deleted meanwhile is skipped.
    func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult]
    /// `finish(reports)`, then `claim(limit:queues:)` for the same `workerId`, as one unit where the store can
    /// (SQLite: one transaction, so one commit records the results and takes the next jobs: group commit).
    /// Either both happen or neither. A default implementation runs the two calls one after the other.
    func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob])
    /// Puts running jobs of `workerId` back to pending without counting the attempt (graceful shutdown).
    @discardableResult
    func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int
    /// pending, running or failed -> cancelled (sets completedAt). Throws `invalidTransition` otherwise.
    /// A pending or running job a schedule fired is counted on it as a failed run ("cancelled"), in the same
    /// transaction (a failed one was counted when it failed).
    func cancel(id: Int64, now: Date) throws -> SmrtJob
    /// Any status but completed -> pending now, attempts 0, error/timing/owner cleared.
    func retry(id: Int64, now: Date) throws -> SmrtJob
    /// Retries (as `retry`) at most `limit` jobs matching `filter` (completed ones never match), lowest ids first,
    /// in one transaction; a job whose unique key another pending or running job holds is skipped. With
    /// `dryRun` nothing changes and the result says what would.
    func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult
    /// Cancels (as `cancel`, also on their schedules) at most `limit` pending, running or failed jobs matching
    /// `filter`, lowest ids first, in one transaction. With `dryRun` nothing changes.
    func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult
    /// Touches `workerHeartbeat` of every job running under `workerId`.
    func heartbeat(workerId: String, now: Date) throws
    /// Takes back the running jobs of `ownerId`, judged dead by a rescuer that read its lease as `lease`, in one
    /// transaction that first checks the lease is still as judged: for `.row(heartbeat:)` the row is still there
    /// and not renewed after that heartbeat (a millisecond of slack for the stored precision), and it is removed
    /// in the same transaction; for `.noRow` the owner still has no row. Otherwise nothing is taken and the result
    /// is nil: an owner that renewed (or registered) since the judgement, and the jobs it claimed after that, are
    /// left alone. A store may also return nil, having changed nothing, when the owner's jobs changed under a
    /// concurrent transaction while it took them; the next judgement decides.
    ///
    /// For each job, `nextRunAt` says when to retry it (nil = fail for good); the attempt counts. A job failed for
    /// good is counted on its schedule as `finish` does, with `reason` as the error (and as the attempt's worker
    /// exit). `nextRunAt` runs inside the store's transaction: it must not call the store. Returns the jobs taken
    /// (possibly none), in id order.
    func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]?
    /// Takes back running jobs whose `workerHeartbeat` is older than `heartbeatBefore` (for runners that
    /// keep no row in the workers table), as `recoverJobs(ofDeadOwner:)` does.
    func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]
    func get(id: Int64) throws -> SmrtJob?
    func list(_ query: JobQuery) throws -> [SmrtJob]
    func stats(queue: String?) throws -> JobStats
    /// Deletes (or with `dryRun` counts) terminal jobs; returns how many.
    func cleanup(_ options: CleanupOptions, now: Date) throws -> Int

    /// Registers (or replaces) a lease row.
    func registerWorker(_ record: WorkerRecord) throws
    /// Renews a lease: heartbeat `now`, held until `expiresAt`. A lease without a row (removed as dead) stays
    /// removed.
    func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws
    /// Removes a lease row, whatever its heartbeat (its owner stopping). A dead owner's row goes with its jobs,
    /// in `recoverJobs(ofDeadOwner:)`.
    func removeWorker(id: String) throws
    func listWorkers() throws -> [WorkerRecord]

    /// Pending jobs with `runAt <= now` (of `queues`, or of any queue when nil), in claim order (priority
    /// DESC, runAt ASC, id ASC), at most `limit`: what `claim` would take next, without taking it.
    /// A default implementation pages through `list`; stores should answer it with one query.
    func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob]
    /// The soonest `runAt` later than `after` of a pending job (of `queues`, or of any queue when nil), or nil when
    /// there is none: when the next job that is not ready yet comes due (a delayed job, a retry). Paused and
    /// limited queues are not left out. Cheap however many jobs are pending (SQL stores: a few index seeks per
    /// priority in use), so a supervisor asks each time it finds nothing ready.
    func soonestRunAt(after: Date, queues: [String]?) throws -> Date?
    /// Jobs in any of `statuses` (of `queue`, or of every queue), newest first (id DESC), like `list`.
    /// No statuses gives no jobs. A default implementation pages through `list`; stores should answer it
    /// with one query.
    func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob]

    /// The database's own clock now, for a database on another host (PostgreSQL: the server's `now()`), or nil
    /// when the database keeps time by this host's clock (a local file). Lease expiries are judged on the
    /// database's clock, so a host whose clock is off cannot take over a live lease or keep a dead one: the
    /// supervisor reads it at each heartbeat and corrects its own clock by the difference.
    func databaseTime() throws -> Date?
}

extension JobStore {
    public func databaseTime() throws -> Date? { nil }

    public func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        let finished = try finish(reports, workerId: workerId, now: now)
        return (finished, try claim(workerId: workerId, limit: limit, queues: queues, now: now))
    }

    /// Completes one job; see `finish`.
    @discardableResult
    public func complete(
        id: Int64, workerId: String, result: JSONValue? = nil, resultPointer: String? = nil, now: Date = Date()
    ) throws -> FinishResult {
        try finish(
            [AttemptReport(jobId: id, outcome: .completed(result: result, resultPointer: resultPointer))],
            workerId: workerId, now: now)[0]
    }

    /// Fails one attempt, retrying at `retryAt` if given and attempts remain; see `finish`.
    @discardableResult
    public func fail(
        id: Int64, workerId: String, error: String, retryAt: Date?, now: Date = Date()
    ) throws -> FinishResult {
        try finish(
            [AttemptReport(jobId: id, outcome: .failed(error: error, retryAt: retryAt))], workerId: workerId, now: now)[0]
    }
}
