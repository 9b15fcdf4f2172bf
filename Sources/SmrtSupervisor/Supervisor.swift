import CoreMetrics
import Foundation
import Logging
import SmrtBackends
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs jobs from a queue database in crash-isolated worker processes, on one libuv event loop.
///
/// ```swift
/// let supervisor = Supervisor(configuration: SupervisorConfiguration(
///     database: "jobs.sqlite", workerExec: [CommandLine.arguments[0], "--smrt-worker"], workers: 4))
/// exit(try supervisor.run())
/// ```
///
/// Threads: `run()` turns the calling thread into the loop thread (workers, timers, signals, pipes); a
/// database thread makes every store call. Nothing on the loop waits for the database, so deadlines and
/// signals stay on time while another process holds the write lock. The database is a `JobBackend` (opened
/// from `configuration.database`, or passed in): its store, change signal and health check. See
/// docs/supervisor.md.
public final class Supervisor: @unchecked Sendable {  // loop state stays on the loop thread; requestStop() goes through `control`
    enum Phase: Equatable {
        case created
        case running
        /// TERM/INT: no new jobs; running ones may finish until the shutdown timeout.
        case draining
        /// QUIT, a second TERM, or the shutdown timeout: workers killed, jobs released.
        case stopping
        case stopped
    }

    public let configuration: SupervisorConfiguration
    /// The database: given to `init`, or opened from `configuration.database` by `run()`.
    var backend: (any JobBackend)?
    /// This supervisor's lease id (`_smrt_workers.id`), written as `worker_id` into the jobs it runs:
    /// `host:pid:random`.
    public let leaseId: String
    let host: String
    /// The database's time: every time the supervisor writes or compares with the database's is on it.
    let clock: DatabaseClock
    let startedAt: Date
    var logger: Logger

    // Loop-thread state; created by `run()`.
    var phase = Phase.created
    var loop: UVLoop!
    var mailbox: LoopMailbox!
    var database: DatabaseThread!
    var pool: WorkerPool!
    var pollTimer: UVTimer!
    /// Lease renewal and dead-owner checks (Supervisor+Leases.swift).
    var heartbeats: PeriodicTask!
    /// Due cron schedules (Supervisor+Schedules.swift).
    var scheduleChecks: PeriodicTask!
    /// The backend's health check (Supervisor+DatabaseHealth.swift).
    var healthChecks: PeriodicTask!
    /// Pruning finished jobs past their retention (Supervisor+Retention.swift).
    var retentionChecks: PeriodicTask!
    /// Fires when the soonest known pending job comes due (`wakeups`).
    var wakeupTimer: UVTimer!
    var shutdownTimer: UVTimer!
    /// The backend's change signal: wakes a claim when another process enqueued.
    var changeSignal: (any ChangeSignal)?
    /// Whether `changeSignal` is active (it is paused while no worker waits for work).
    var watching = false
    var signalWatchers: [UVSignal] = []
    /// Signals held back from the start of `run()` until their handlers are installed.
    var startupSignals: BlockedSignals?
    /// Claims, held jobs and the next group commit (Supervisor+Dispatch.swift).
    var planner: ClaimPlanner
    /// How many RUNs may be queued behind a running job (`--pipeline`).
    let pipeline: PipelinePolicy
    /// What the lease allows (Supervisor+Leases.swift).
    var lease: LeaseGuard
    /// Counters and histograms since start, published in the lease row and to swift-metrics (Supervisor+Metrics.swift).
    var metrics: SupervisorMetrics
    /// The latest progress of running jobs, waiting for its next write (Supervisor+Progress.swift).
    var progress = ProgressBuffer()
    /// Fires when a waiting progress value may be written.
    var progressTimer: UVTimer!
    /// When `progressTimer` is armed for (`Monotonic.nanos`), nil when stopped.
    var progressWakeAt: UInt64?
    /// The lease was lost: busy workers were killed; nothing starts until a renewal succeeds.
    var fenced = false
    /// Sends KEEPALIVE to the workers (their watchdog) while the lease allows.
    var keepaliveTimer: UVTimer!
    var flushCheck: UVCheck!
    /// When retries and delayed jobs come due (Supervisor+Dispatch.swift).
    var wakeups = DueWakeups()
    /// The soonest delayed job is among `wakeups` (looked up since the last change), or there is none.
    var delayedJobsKnown = false
    var teardownStarted = false
    var startError: Error?
    /// Why the supervisor stopped on its own (the database became unusable); `run()` throws it.
    var runtimeError: Error?

    // Lets other threads ask for a stop (embedding apps).
    private let control = NSLock()
    private var controlMailbox: LoopMailbox?
    private var stopRequestedBeforeRun: Bool?

    /// - Parameters:
    ///   - backend: the database; by default `Backends.open(configuration.database)`.
    ///   - logger: where log lines go; by default one line per event on stderr in `configuration.logFormat`.
    ///   - metricsFactory: where the job and worker metrics go (`JobMetrics`: `smrt_jobs_finished_total`, …); by
    ///     default the app's bootstrapped backend (`MetricsSystem.factory`, a no-op until one is bootstrapped).
    public init(
        configuration: SupervisorConfiguration, backend: (any JobBackend)? = nil, logger: Logger? = nil,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.configuration = configuration
        self.backend = backend
        planner = ClaimPlanner(prefetch: configuration.prefetch, shortJobMs: configuration.shortJobMs)
        pipeline = PipelinePolicy(depth: configuration.pipeline)
        lease = LeaseGuard(ttlMs: configuration.leaseTTL)
        metrics = SupervisorMetrics(export: JobMetrics(factory: metricsFactory ?? MetricsSystem.factory))
        clock = DatabaseClock()
        startedAt = Date()
        host = Self.hostName()
        leaseId = "\(host):\(getpid()):\(Self.randomHex(4))"
        self.logger = logger ?? SupervisorLogHandler.logger(
            format: configuration.logFormat, level: configuration.debug ? .debug : .info)
    }

    /// Runs until a shutdown (signal or `requestStop`) has completed, then returns the exit code (0).
    ///
    /// Opens the database (creating or migrating it), registers the lease, takes back the jobs of dead
    /// supervisors, starts the workers, timers, file watch and signal handlers, and runs the loop on the calling
    /// thread. Throws for a bad configuration, a database that cannot be opened, or a worker command that cannot
    /// be started at all.
    public func run() throws -> Int32 {
        precondition(phase == .created, "Supervisor.run() can be called once")
        // A TERM while the database opens waits for the handlers instead of killing the process (exit 143).
        startupSignals = BlockedSignals.block(Self.handledSignals)
        defer { startupSignals?.unblock() }
        // Bounded: a log destination that does not read must not keep the process from ending.
        defer { LogWriter.flushAll(timeout: Self.logFlushTimeout) }
        try configuration.validate()
        UVStream.ignoreBrokenPipeSignal()
        let backend: any JobBackend
        let store: any JobStore & ScheduleStore
        do {
            // Opened here, before the loop runs, so a bad database fails fast; from now on only the database
            // thread uses the store.
            // The database thread is a long-lived, busy writer: its commits should not wait for WAL checkpoints.
            var options = configuration.backendOptions
            options.checkpointsInBackground = true
            backend = try self.backend ?? Backends.open(configuration.database, options: options)
            self.backend = backend
            store = try backend.openStore(StoreAccess.create.addingToForeignDatabase(configuration.addsToForeignDatabase))
            try clock.synchronize(with: store)
        } catch SmrtJobsError.invalidValue(let field, let value, let reason) {
            // A setting libpq rejects only when it connects (e.g. PGSSLMODE=bogus): a configuration error.
            throw SupervisorError.invalidConfiguration(
                option: "--db", reason: SmrtJobsError.invalidValue(field: field, value: value, reason: reason).description)
        } catch {
            let name = self.backend?.displayName ?? ArgumentRedaction.redact(text: configuration.database)
            throw SupervisorError.database("cannot open database \(name): \(error)")
        }
        loop = try UVLoop()
        mailbox = try LoopMailbox(loop: loop)
        database = DatabaseThread(
            backend: backend, store: store, workerId: leaseId, clock: clock, queues: configuration.queues, mailbox: mailbox,
            logger: logger, commitWindowMs: configuration.commitWindowMs
        ) { [unowned self] result, asked, claimedAt in claimed(result, asked: asked, at: claimedAt) }
        database.onFatalError = { [unowned self] error in databaseFailed("\(error)") }
        database.start()
        do {
            try start()
        } catch {
            startError = error
            stopNow()
        }
        let early = control.withLock { () -> Bool? in
            controlMailbox = mailbox
            return stopRequestedBeforeRun
        }
        if let early { requestStopOnLoop(immediate: early) }
        loop.run()
        control.withLock { controlMailbox = nil }
        do {
            try loop.close()
        } catch {
            // Every handle should be closed by now; say which one was not, rather than hide a leak.
            logger.warning("\(error)", metadata: ["event": "handle_leak"])
        }
        if let startError { throw startError }
        if let runtimeError { throw runtimeError }
        return 0
    }

    /// How long `run()` waits, before it returns, for log lines still queued for a slow destination (seconds).
    static let logFlushTimeout = 2.0

    /// Asks a running supervisor to stop, from any thread: gracefully (as TERM) or at once (as QUIT).
    public func requestStop(immediate: Bool = false) {
        control.lock()
        defer { control.unlock() }
        if let controlMailbox {
            controlMailbox.post { [self] in requestStopOnLoop(immediate: immediate) }
        } else {
            stopRequestedBeforeRun = immediate || (stopRequestedBeforeRun ?? false)
        }
    }

    private func requestStopOnLoop(immediate: Bool) {
        if immediate { stopNow() } else { stopGracefully() }
    }

    /// Install the signal handlers, register the lease, take back what dead predecessors left, start the workers,
    /// the timers and the change signal.
    private func start() throws {
        phase = .running
        // First, so a TERM that comes while the rest starts is a graceful stop, not the default action's death.
        try installSignalHandlers()
        startupSignals?.unblock()
        registerLease()
        recoverDeadSupervisors()
        try startWorkers()
        try startTimers()
        logger.info(
            "supervisor started with \(configuration.workers) worker(s)",
            metadata: [
                "event": "supervisor_started", "lease_id": .string(leaseId), "workers": .int(configuration.workers),
                "db": .string(databaseName),
            ])
        reportClockOffset()
    }

    private func startWorkers() throws {
        pool = try WorkerPool(loop: loop, configuration: configuration, logger: logger, delegate: self)
        try pool.start()
    }

    private func startTimers() throws {
        flushCheck = try UVCheck(loop: loop)
        try flushCheck.start { [unowned self] _ in flushToDatabase() }
        shutdownTimer = try UVTimer(loop: loop)
        wakeupTimer = try UVTimer(loop: loop)
        progressTimer = try UVTimer(loop: loop)
        pollTimer = try UVTimer(loop: loop)
        let poll = UInt64(configuration.pollInterval)
        try pollTimer.start(timeoutMs: poll, repeatMs: poll) { [unowned self] _ in
            releaseHeldJobs(olderThanMs: configuration.pollInterval, reason: "held longer than the poll interval")
            maybeClaim()
            flushFromTimer()
        }
        heartbeats = try PeriodicTask(loop: loop)
        let beat = UInt64(configuration.effectiveHeartbeatInterval)
        try heartbeats.start(firstAfterMs: beat, everyMs: beat) { [unowned self] done in heartbeat(then: done) }
        scheduleChecks = try PeriodicTask(loop: loop)
        let scheduleEvery = UInt64(min(configuration.pollInterval, 1000))
        try scheduleChecks.start(firstAfterMs: 0, everyMs: scheduleEvery) { [unowned self] done in runSchedules(then: done) }
        keepaliveTimer = try UVTimer(loop: loop)
        let keepaliveEvery = UInt64(max(1, (lease.keepaliveInterval * 1000).rounded()))
        try keepaliveTimer.start(timeoutMs: keepaliveEvery, repeatMs: keepaliveEvery) { [unowned self] _ in feedWatchdogs() }
        healthChecks = try PeriodicTask(loop: loop)
        let checkEvery = UInt64(configuration.healthCheckInterval)
        try healthChecks.start(firstAfterMs: checkEvery, everyMs: checkEvery) { [unowned self] done in
            checkDatabaseHealth(then: done)
        }
        retentionChecks = try PeriodicTask(loop: loop)
        let pruneEvery = UInt64(configuration.retentionInterval)
        try retentionChecks.start(firstAfterMs: pruneEvery, everyMs: pruneEvery) { [unowned self] done in pruneFinishedJobs(then: done) }
        watchDatabase()
    }

    /// The database for log lines: no password.
    var databaseName: String { backend?.displayName ?? ArgumentRedaction.redact(text: configuration.database) }

    // MARK: Helpers

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }

    /// Whether a process with this pid exists on this host (a zombie counts as gone).
    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        let state = ProcessStats.state(pid: pid)
        return state != "Z" && state != "X"
    }
}
