import Foundation
import Logging
import SmrtJobs

/// The one thread that talks to the database, so the event loop never waits for it.
///
/// Requests are closures queued under a lock and run in order on a dedicated `Thread` that owns the
/// supervisor's store (and the `ScheduleRunner` over it). Replies travel back through the loop's
/// `LoopMailbox` (one `UVAsync`), so every reply closure runs on the loop thread.
///
/// Finished attempts are group-committed: all reports that arrive while the thread is busy go into one
/// transaction, together with the claim of the next jobs when the loop asked for some
/// (`finish(_:workerId:now:thenClaim:queues:)`). When the database stays busy past its busy timeout (another
/// process holds the write lock) or is unavailable, the reports are kept and retried with back-off: results
/// are never dropped.
final class DatabaseThread: @unchecked Sendable {  // queues under `condition`; `context` on the thread only
    /// What database work gets to use. Only touched on the database thread.
    final class Context {
        let backend: any JobBackend
        let store: any JobStore & ScheduleStore
        /// The store's progress writes; nil for a store without them (progress is then not stored).
        let monitoring: (any MonitoringStore)?
        let schedules: ScheduleRunner
        let workerId: String
        /// The database's time, for every `now` the store is given.
        let clock: DatabaseClock
        let logger: Logger
        /// Draws the retry jitter of recovered jobs.
        var random = SystemRandomNumberGenerator()

        init(
            backend: any JobBackend, store: any JobStore & ScheduleStore, workerId: String, clock: DatabaseClock,
            logger: Logger
        ) {
            self.backend = backend
            self.clock = clock
            self.store = store
            monitoring = store as? any MonitoringStore
            // The supervisor logs every fire and fire error itself, with structured fields; the runner's own
            // lines would say the same things twice.
            var quiet = logger
            quiet.logLevel = .critical
            self.schedules = ScheduleRunner(store: store, logger: quiet)
            self.workerId = workerId
            self.logger = logger
        }
    }

    /// One finished attempt waiting for the next group commit.
    struct PendingFinish {
        var jobId: Int64
        /// RESULT_OK: the method's result (nil for none).
        var result: JSONValue?
        /// A failed attempt: the stored error and when to retry (nil: fail for good).
        var failure: (error: String, retryAt: Date?)?
        /// When RUN was sent (written as `started_at`: a prefetched job may have been claimed earlier).
        var startedAt: Date?
        /// The worker process that ran the attempt, and how the attempt ended for it (`SmrtJob.workerPid/workerExit`).
        var workerPid: Int32?
        var workerExit: String?
        /// Runs on the loop thread with what `finish` did (nil when the write failed for good).
        var reply: (FinishResult?) -> Void

        init(
            jobId: Int64, result: JSONValue?, failure: (error: String, retryAt: Date?)?, startedAt: Date?,
            workerPid: Int32? = nil, workerExit: String? = nil, reply: @escaping (FinishResult?) -> Void
        ) {
            self.jobId = jobId
            self.result = result
            self.failure = failure
            self.startedAt = startedAt
            self.workerPid = workerPid
            self.workerExit = workerExit
            self.reply = reply
        }
    }

    private let condition = NSCondition()
    private var requests: [(Context) -> Void] = []
    private var finishes: [PendingFinish] = []
    /// The latest progress of running jobs, written with the next commit, before its results.
    private var progress: [ProgressUpdate] = []
    /// Jobs the loop asked to claim, not yet claimed; claimed in the next group commit.
    private var claimWanted = 0
    /// A worker waits for the claim: commit at once instead of gathering more.
    private var urgent = false
    /// When the oldest result or claim waiting for the next commit was queued (`Monotonic.nanos`).
    private var oldestQueuedAt: UInt64?
    /// How long results and claims ahead may wait for others to share their commit (group commit window).
    let commitWindowNanos: UInt64
    /// A batch this large commits without waiting for the window.
    static let fullBatch = 256
    /// Runs on the loop thread with each claim's jobs, how many were asked for, and the time the claim compared
    /// `run_at` with.
    private let claimed: (Result<[SmrtJob], Error>, Int, Date) -> Void
    private let queues: [String]?
    private var stopping = false
    /// Set as soon as `stop` is called (`stopping` only when the stop request's turn comes).
    private var stopRequested = false
    /// Runs on the loop thread when the backend reports a `fatal` error (one that retrying cannot fix: disk
    /// full, I/O error, read-only or corrupt file). Set before `start()`.
    var onFatalError: ((SmrtJobsError) -> Void)?
    private let context: Context
    private let mailbox: LoopMailbox
    private let logger: Logger

    /// Takes over `store`: from now on only the database thread uses it.
    /// - Parameters:
    ///   - queues: what claims take jobs from (nil: every queue).
    ///   - claimed: runs on the loop thread with the jobs of each claim (see `submit`), how many were asked, and the
    ///     `now` the claim was made with (a job due after it was not seen by this claim).
    init(
        backend: any JobBackend, store: any JobStore & ScheduleStore, workerId: String, clock: DatabaseClock = DatabaseClock(),
        queues: [String]? = nil, mailbox: LoopMailbox, logger: Logger, commitWindowMs: Double = 0,
        claimed: @escaping (Result<[SmrtJob], Error>, Int, Date) -> Void = { _, _, _ in }
    ) {
        commitWindowNanos = UInt64(max(0, commitWindowMs) * 1_000_000)
        context = Context(backend: backend, store: store, workerId: workerId, clock: clock, logger: logger)
        self.mailbox = mailbox
        self.logger = logger
        self.queues = queues
        self.claimed = claimed
    }

    func start() {
        let thread = Thread { [self] in main() }
        thread.name = "smrt-db"
        thread.start()
    }

    /// Runs `body` on the database thread, then `reply` with its outcome on the loop thread.
    /// With `retryOnBusy`, busy and unavailable errors (the busy timeout ran out, the server is away) are
    /// retried with back-off instead of being reported, for writes that must not be lost (releases, recoveries).
    func perform<T>(
        retryOnBusy: Bool = false, _ body: @escaping (Context) throws -> T,
        reply: @escaping (Result<T, Error>) -> Void = { _ in }
    ) {
        enqueue { [self] context in
            let result = retrying(retryOnBusy ? .max : 0, what: "database request") { try body(context) }
            mailbox.post { reply(result) }
        }
    }

    /// Queues a finished attempt for the next group commit.
    func finish(_ pending: PendingFinish) {
        submit([pending], claim: 0, urgent: true)
    }

    /// Queues finished attempts, progress values of running jobs and a claim of `claim` more jobs for the next
    /// group commit (one transaction where the store can); the claimed jobs come back through `claimed`. Claims
    /// asked before the commit starts are merged; progress is written before the results (a job's last progress
    /// before its finish).
    ///
    /// Unless `urgent` (a worker is waiting for the claimed jobs), the commit waits up to the commit window for
    /// more results to share it: fewer, larger transactions while jobs flow, at the price of that much
    /// latency before a result is durable.
    func submit(_ pending: [PendingFinish], progress updates: [ProgressUpdate] = [], claim: Int, urgent: Bool) {
        condition.lock()
        let wasIdle = finishes.isEmpty && claimWanted == 0 && progress.isEmpty
        finishes.append(contentsOf: pending)
        progress.append(contentsOf: updates)
        claimWanted += claim
        if urgent { self.urgent = true }
        if oldestQueuedAt == nil { oldestQueuedAt = Monotonic.nanos }
        // A thread that lingers for the window wakes at its end anyway: waking it for each result that joins the
        // batch would cost a context switch per job.
        if wasIdle || urgent || finishes.count >= Self.fullBatch { condition.signal() }
        condition.unlock()
    }

    /// Waits (lock held) until there is work, and for lingering work until its window has passed.
    private func waitForWork() {
        while true {
            if stopping || stopRequested || urgent || !requests.isEmpty { return }
            if finishes.isEmpty && claimWanted == 0 && progress.isEmpty {
                condition.wait()
                continue
            }
            let deadline = (oldestQueuedAt ?? 0) + commitWindowNanos
            let now = Monotonic.nanos
            if now >= deadline || finishes.count >= Self.fullBatch { return }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
        }
    }

    /// Lets everything queued so far run, then ends the thread and runs `then` on the loop thread.
    func stop(then: @escaping () -> Void) {
        condition.withLock { stopRequested = true }
        enqueue { [self] _ in
            condition.lock()
            stopping = true
            condition.unlock()
            mailbox.post(then)
        }
    }

    private func enqueue(_ work: @escaping (Context) -> Void) {
        condition.lock()
        requests.append(work)
        condition.signal()
        condition.unlock()
    }

    // MARK: The thread

    private func main() {
        while true {
            condition.lock()
            waitForWork()
            urgent = false
            oldestQueuedAt = nil
            let batch = finishes
            finishes.removeAll(keepingCapacity: true)
            let updates = progress
            progress.removeAll(keepingCapacity: true)
            let claim = claimWanted
            claimWanted = 0
            let next = requests.isEmpty ? nil : requests.removeFirst()
            let done = stopping && batch.isEmpty && claim == 0 && updates.isEmpty && next == nil
            condition.unlock()
            if done { return }
            if !batch.isEmpty || claim > 0 || !updates.isEmpty { commit(batch, progress: updates, claim: claim) }
            next?(context)
        }
    }

    /// One transaction for the whole batch and the claim (the store counts jobs that are done for good on their
    /// schedules in it), with the progress values written first.
    private func commit(_ batch: [PendingFinish], progress updates: [ProgressUpdate], claim: Int) {
        let updates = context.monitoring == nil ? [] : updates
        if batch.isEmpty && claim == 0 {
            recordProgress(updates)
            return
        }
        let reports = batch.map { pending -> AttemptReport in
            let outcome: AttemptOutcome
            if let failure = pending.failure {
                outcome = .failed(error: failure.error, retryAt: failure.retryAt)
            } else {
                outcome = .completed(result: pending.result)
            }
            return AttemptReport(
                jobId: pending.jobId, outcome: outcome, startedAt: pending.startedAt, workerPid: pending.workerPid,
                workerExit: pending.workerExit)
        }
        let store = context.store, monitoring = context.monitoring, workerId = context.workerId, queues = queues
        let clock = context.clock
        var results: [FinishResult?] = []
        var claimResult: Result<[SmrtJob], Error> = .success([])
        var claimedAt = clock.now()
        let what = claim > 0 ? "\(reports.count) finished job(s) and a claim" : "\(reports.count) finished job(s)"
        // A claim alone is not retried past the busy timeout (the poll tries again); results are never dropped.
        switch retrying(batch.isEmpty ? 0 : .max, what: what, {
            claimedAt = clock.now()
            if let monitoring, !updates.isEmpty {
                return try monitoring.finish(
                    reports, recordingProgress: updates, workerId: workerId, now: claimedAt, thenClaim: claim, queues: queues)
            }
            return try store.finish(reports, workerId: workerId, now: claimedAt, thenClaim: claim, queues: queues)
        }) {
        case .success(let done):
            results = done.finished
            claimResult = .success(done.claimed)
        case .failure(let error):
            claimResult = .failure(error)
            if batch.isEmpty { break }
            // Not a lock problem: write the reports one by one so one bad report cannot sink the others.
            logger.error("database error recording \(what): \(error)", metadata: ["event": "database_error"])
            results = reports.map { report in try? store.finish([report], workerId: workerId, now: clock.now()).first }
        }
        let replies = batch.map(\.reply)
        let claimed = claimed, at = claimedAt
        mailbox.post {
            for (reply, result) in zip(replies, results) { reply(result) }
            if claim > 0 { claimed(claimResult, claim, at) }
        }
    }

    /// Writes progress values alone (no result or claim is waiting). Informational: a failed write is logged and
    /// dropped; the job's next report (or its end) writes a newer value.
    private func recordProgress(_ updates: [ProgressUpdate]) {
        guard let monitoring = context.monitoring, !updates.isEmpty else { return }
        let workerId = context.workerId
        if case .failure(let error) = retrying(0, what: "progress", { try monitoring.recordProgress(updates, workerId: workerId) }) {
            logger.warning("could not record the progress of \(updates.count) job(s): \(error)", metadata: ["event": "progress_failed"])
        }
    }

    /// Runs `body`, retrying up to `limit` times with back-off (50 ms doubling to 1 s) while the backend reports
    /// the database busy (after its busy timeout) or unavailable. Once stopping, gives up after about a minute.
    private func retrying<T>(_ limit: Int, what: String, _ body: () throws -> T) -> Result<T, Error> {
        var attempt = 0
        var pauseMs = 50
        while true {
            do {
                return .success(try body())
            } catch SmrtJobsError.database(let kind, let message) where kind.isTransient && attempt < limit {
                attempt += 1
                let giveUp = condition.withLock { stopRequested } && attempt > 60
                if giveUp { return .failure(SmrtJobsError.database(kind: kind, message: message)) }
                logger.warning(
                    "database \(kind.rawValue) (\(message)); retrying \(what) in \(pauseMs) ms",
                    metadata: ["event": .string("database_\(kind.rawValue)"), "attempt": .stringConvertible(attempt)])
                usleep(useconds_t(pauseMs * 1000))
                pauseMs = min(pauseMs * 2, 1000)
            } catch {
                if case SmrtJobsError.database(.fatal, _) = error, let onFatalError {
                    mailbox.post { onFatalError(error as! SmrtJobsError) }
                }
                return .failure(error)
            }
        }
    }
}
