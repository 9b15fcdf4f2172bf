import Foundation
import Logging
import SmrtJobs
import SmrtProtocol

/// What the pool tells the supervisor. All calls come on the loop thread.
protocol WorkerPoolDelegate: AnyObject {
    /// A worker can take a job (after HELLO, or after finishing one).
    func workerBecameIdle(_ worker: WorkerProcess)
    /// A worker answered the job it held. Called before the pool decides whether to recycle the worker.
    func worker(_ worker: WorkerProcess, finished job: RunningJob, with result: WorkerProcess.Result)
    /// A worker ended while it held `job` (running it, queued behind its first job, or its RUN crossed RETIRE);
    /// `outcome` says what becomes of it. `first`: the worker's first job (what a kill was about), not a queued one.
    func worker(
        _ worker: WorkerProcess, endedHolding job: RunningJob, first: Bool, status: ExitStatus,
        outcome: WorkerExitJudgement.JobOutcome)
    /// A worker said STARTED (protocol 4) for its first job.
    func worker(_ worker: WorkerProcess, started job: RunningJob)
    /// A worker sent a valid PROGRESS for the job it holds.
    func worker(_ worker: WorkerProcess, reported progress: JobProgress, for job: RunningJob)
    /// A worker is gone (after `endedHolding`, if it held a job), for `reason`.
    func workerExited(_ worker: WorkerProcess, reason: WorkerExitReason)
    /// A worker process could not be spawned at all (counted as a start failure).
    func workerSpawnFailed()
}

/// Keeps `target` worker processes running (loop thread only).
///
/// - A worker that dies before HELLO, or while idle, is restarted with exponential back-off (100 ms doubling
///   to 10 s, one log line each time), never in a hot loop; a job result resets the back-off. A worker that
///   dies during a job is replaced at once (the job was the problem, and its retry strategy paces it).
/// - A worker that sends no HELLO within the start timeout is killed.
/// - Recycling: after `maxJobsPerWorker` jobs, or when its RSS is over `maxWorkerRSSMB` between jobs, a
///   worker gets SHUTDOWN and a replacement starts at once.
/// - Retirement: a worker that says RETIRE, or exits 0 between jobs, is replaced at once, without back-off and not
///   as a crash (`WorkerExitJudgement`).
/// - HUP: rolling restart, one worker at a time (idle ones first, busy ones after their job).
/// - TTIN / TTOU: one worker more / less (an idle one goes first; a busy one after its job).
final class WorkerPool {
    private(set) var workers: [WorkerProcess] = []
    /// How many workers the pool keeps.
    private(set) var target: Int
    private(set) var shuttingDown = false

    private let loop: UVLoop
    private let configuration: SupervisorConfiguration
    /// rlimits and the user the workers run as (WorkerLimits.swift).
    let limits: WorkerLimits
    /// What workers start with (`"KEY=value"`), nil for the supervisor's own environment.
    private let environment: [String]?
    private(set) var logger: Logger
    private weak var delegate: WorkerPoolDelegate?
    private let backoffTimer: UVTimer
    private var serial = 0
    private var generation = 0
    private var restarting = false
    private var consecutiveFailures = 0
    private var nextSpawnAt: UInt64 = 0
    /// Deaths not yet replaced, oldest first: the replacement reports the time from death to HELLO.
    /// Workers lost (killed for a job, or died) not yet replaced, with when they stopped counting: the next spawn
    /// replaces the first, and its `worker_ready` line says how long the pool was a worker short (`respawn_ms`).
    private var unreplacedLosses: [(pid: Int32, at: UInt64)] = []

    /// Longest pause between restarts of a worker that keeps dying before it is ready.
    static let maxBackoffMs = 10_000
    static let firstBackoffMs = 100
    /// How long a worker asked to stop (SHUTDOWN while idle) may take before it is killed.
    static let stopTimeoutMs: UInt64 = 5000

    init(loop: UVLoop, configuration: SupervisorConfiguration, logger: Logger, delegate: WorkerPoolDelegate) throws {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.delegate = delegate
        target = configuration.workers
        limits = try WorkerLimits(configuration: configuration)
        environment = configuration.workerEnvironment(supervisorEnvironment: ProcessInfo.processInfo.environment)
        backoffTimer = try UVTimer(loop: loop)
    }

    /// Starts the first workers. Throws if the very first spawn fails (a wrong --worker-exec should stop the
    /// supervisor with a clear message, not retry forever).
    func start() throws {
        for _ in 0..<target {
            do {
                try spawn()
            } catch {
                if workers.isEmpty {
                    throw SupervisorError.cannotStartWorker(
                        command: configuration.workerExec.joined(separator: " "), reason: "\(error)")
                }
                spawnFailed(error)
                return
            }
        }
    }

    // MARK: Queries

    /// Workers that can take a job now. During a rolling restart, stale workers take none: they are next to go.
    var idleWorkers: [WorkerProcess] {
        workers.filter { $0.isIdle && !(restarting && $0.generation < generation) }
    }

    /// Workers holding a job.
    var busyWorkers: [WorkerProcess] { workers.filter { $0.job != nil && $0.state != .exited } }

    /// Busy workers of protocol 4 that may be sent RUNs to queue behind their running job now, once per free slot
    /// (`policy`), the workers with the fewest RUNs in flight first. Stale workers of a rolling restart get none.
    func queueSlots(_ policy: PipelinePolicy, jobsAreShort: Bool, recentJobMs: Double?) -> [WorkerProcess] {
        guard policy.depth > 1, jobsAreShort else { return [] }
        var free: [(worker: WorkerProcess, slots: Int)] = []
        for worker in workers where worker.mayQueue && !(restarting && worker.generation < generation) {
            guard let first = worker.job else { continue }
            let slots = policy.queueSlots(
                protocolVersion: worker.protocolVersion, inFlight: worker.inFlight, jobsAreShort: jobsAreShort,
                recentJobMs: recentJobMs, jobsLeft: configuration.maxJobsPerWorker.map { $0 - worker.jobsDone },
                headStopping: first.cancelRequested || first.timeoutState == .cancelled || first.timeoutState == .killed)
            if slots > 0 { free.append((worker, slots)) }
        }
        guard !free.isEmpty else { return [] }
        free.sort { $0.worker.inFlight < $1.worker.inFlight }
        var order: [WorkerProcess] = []
        var round = 0
        while order.count < free.reduce(0, { $0 + $1.slots }) {
            for entry in free where entry.slots > round { order.append(entry.worker) }
            round += 1
        }
        return order
    }

    /// Workers that count toward `target`: alive, not on their way out.
    var countedWorkers: [WorkerProcess] {
        workers.filter { $0.state != .exited && !$0.isLeaving }
    }

    var isEmpty: Bool { workers.isEmpty }

    // MARK: Changes

    /// TTIN / TTOU.
    func changeTarget(by delta: Int) {
        guard !shuttingDown else { return }
        target = max(0, target + delta)
        logger.info(
            "worker count \(delta > 0 ? "raised" : "lowered") to \(target)",
            metadata: ["event": "workers_target", "workers": .int(target)])
        reconcile()
    }

    /// HUP: replace every worker, one at a time.
    func rollingRestart() {
        guard !shuttingDown else { return }
        generation += 1
        restarting = true
        logger.info("rolling restart of \(countedWorkers.count) worker(s)", metadata: ["event": "rolling_restart"])
        rollingStep()
    }

    /// Stops everything. Graceful: SHUTDOWN to every worker (busy ones finish their job first; the supervisor
    /// kills what is left when its shutdown timeout runs out). Immediate: SIGKILL all, their jobs released.
    func shutdown(immediate: Bool) {
        shuttingDown = true
        backoffTimer.stop()
        for worker in workers where worker.state != .exited {
            if immediate {
                worker.releaseJobOnExit = true
                worker.kill(reason: nil)
            } else {
                worker.requestStop()
            }
        }
    }

    /// Kills the workers still running jobs, releasing their jobs (the graceful shutdown ran out of time).
    func killBusyWorkers() {
        for worker in workers where worker.state != .exited {
            worker.releaseJobOnExit = true
            worker.kill(reason: nil)
        }
    }

    /// Closes the pool's own handle (after every worker has exited).
    func close() {
        backoffTimer.close()
    }

    // MARK: Spawning

    private func spawn() throws {
        serial += 1
        let worker = try WorkerProcess(
            loop: loop, command: configuration.workerExec, environment: environment, serial: serial,
            generation: generation, logger: logger, uid: limits.uid, gid: limits.gid, resourceLimits: limits.spawnLimits,
            niceIncrement: Int32(configuration.workerNice)
        ) { [unowned self] worker, event in handle(worker, event) }
        if !unreplacedLosses.isEmpty {
            let loss = unreplacedLosses.removeFirst()
            worker.replacing = (loss.pid, loss.at)
        }
        workers.append(worker)
        logger.info(
            "worker \(worker.pid) spawned", metadata: ["event": "worker_spawned", "worker_pid": .int(worker.pid)])
        try? worker.lifeTimer.start(timeoutMs: UInt64(configuration.workerStartTimeout)) { [unowned self, unowned worker] _ in
            guard worker.state == .starting else { return }
            logger.warning(
                "worker \(worker.pid) sent no HELLO within \(configuration.workerStartTimeout) ms; killing it",
                metadata: ["event": "worker_start_timeout", "worker_pid": .int(worker.pid)])
            worker.failedToStart = true
            worker.kill(reason: nil)
        }
    }

    private func spawnFailed(_ error: Error) {
        delegate?.workerSpawnFailed()
        logger.error(
            "cannot start worker '\(configuration.workerExec.joined(separator: " "))': \(error)",
            metadata: ["event": "worker_spawn_failed"])
        registerFailure()
    }

    /// Spawns or retires workers until `countedWorkers` matches `target`, respecting the back-off.
    func reconcile() {
        guard !shuttingDown else { return }
        var counted = countedWorkers
        while counted.count > target {
            // Prefer a worker that is not ready yet, then an idle one, then a busy one (after its job).
            let victim = counted.first { $0.state == .starting } ?? counted.first { $0.isIdle } ?? counted.last!
            retire(victim, reason: "worker count lowered")
            counted = countedWorkers
        }
        var missing = target - counted.count
        guard missing > 0 else { return }
        for worker in workers where !worker.lossRecorded {
            guard let killedAt = worker.killedAt else { continue }
            worker.lossRecorded = true
            unreplacedLosses.append((worker.pid, killedAt))
        }
        let now = Monotonic.nanos
        if let deadline = deadlineTooClose(now), deadline > nextSpawnAt {
            // A spawn blocks the loop until the child has exec'd (several ms on a loaded machine): spawning
            // right before a job's deadline would make its kill late. Spawn just after it instead.
            let waitMs = (deadline > now ? (deadline - now + 999_999) / 1_000_000 : 0) + 1
            try? backoffTimer.start(timeoutMs: waitMs) { [unowned self] _ in reconcile() }
            return
        }
        if now < nextSpawnAt {
            if !backoffTimer.isActive {
                let waitMs = (nextSpawnAt - now + 999_999) / 1_000_000
                try? backoffTimer.start(timeoutMs: waitMs) { [unowned self] _ in reconcile() }
            }
            return
        }
        while missing > 0 {
            do {
                try spawn()
            } catch {
                spawnFailed(error)
                return
            }
            missing -= 1
        }
    }

    /// How close to a running job's deadline a spawn may start.
    static let spawnClearanceNanos: UInt64 = 20_000_000

    /// The earliest deadline of a running job that is less than `spawnClearanceNanos` away, if any. A deadline
    /// already passed whose timer has not run yet (it fires later in this loop iteration) counts too.
    private func deadlineTooClose(_ now: UInt64) -> UInt64? {
        var soonest: UInt64?
        for worker in workers where worker.state == .running {
            guard let job = worker.job, job.timeoutState == .none, job.deadline < now + Self.spawnClearanceNanos
            else { continue }
            soonest = min(soonest ?? .max, job.deadline)
        }
        return soonest
    }

    /// Lets `worker` go gracefully: SHUTDOWN now if idle, after its job if busy. A busy worker of protocol 4 gets
    /// SHUTDOWN at once: it finishes the job it runs and starts none of those queued behind it, which go back to
    /// pending uncounted when it has exited.
    private func retire(_ worker: WorkerProcess, reason: String) {
        if worker.job != nil && worker.protocolVersion < WireFormat.pipelineVersion {
            worker.retireAfterJob = true
            return
        }
        logger.info(
            "worker \(worker.pid) retiring (\(reason))",
            metadata: ["event": "worker_retiring", "worker_pid": .int(worker.pid), "reason": .string(reason)])
        worker.requestStop()
        // A busy worker's job may take as long as it takes; the stop timeout starts when it has answered.
        if worker.job?.started != true { startStopTimeout(worker) }
    }

    /// Kills a worker asked to stop (SHUTDOWN) that has not exited within `stopTimeoutMs`.
    private func startStopTimeout(_ worker: WorkerProcess) {
        try? worker.lifeTimer.start(timeoutMs: Self.stopTimeoutMs) { [unowned worker] _ in
            worker.kill(reason: nil)
        }
    }

    /// The next step of a rolling restart: retire one stale idle worker once no replacement is starting.
    private func rollingStep() {
        guard restarting, !shuttingDown else { return }
        if workers.contains(where: { $0.state == .starting }) { return }
        let stale = countedWorkers.filter { $0.generation < generation }
        if stale.isEmpty {
            restarting = false
            logger.info("rolling restart complete", metadata: ["event": "rolling_restart_done"])
            return
        }
        if let idle = stale.first(where: { $0.isIdle }) {
            retire(idle, reason: "rolling restart")
            reconcile()
        }
    }

    /// A worker died before it could do any work: wait before the next spawn, longer each time.
    private func registerFailure() {
        consecutiveFailures += 1
        let exponent = min(consecutiveFailures - 1, 20)
        let delay = min(Self.firstBackoffMs << exponent, Self.maxBackoffMs)
        nextSpawnAt = Monotonic.nanos + UInt64(delay) * 1_000_000
        logger.warning(
            "worker restarting in \(delay) ms (\(consecutiveFailures) failed start(s) in a row)",
            metadata: ["event": "worker_restarting", "backoff_ms": .int(delay), "failures": .int(consecutiveFailures)])
    }

    // MARK: Worker events

    private func handle(_ worker: WorkerProcess, _ event: WorkerProcess.Event) {
        switch event {
        case .ready:
            workerReady(worker)
        case .finished(let job, let result):
            consecutiveFailures = 0
            delegate?.worker(worker, finished: job, with: result)
            afterJob(worker)
        case .progress(let job, let progress):
            // Debug: a job may report many times a second; what is stored is the latest, at most once a second.
            var metadata: Logger.Metadata = [
                "event": "job_progress", "job_id": .int(job.id), "worker_pid": .int(worker.pid),
                "fraction": .stringConvertible(progress.fraction),
            ]
            if let message = progress.message { metadata["message"] = .string(message) }
            logger.debug("job \(job.id) \(job.label) progress \(progress.fraction)", metadata: metadata)
            delegate?.worker(worker, reported: progress, for: job)
        case .started(let job):
            // Asked to stop (SHUTDOWN) as it began this job: it finishes it first, however long it takes; the stop
            // timeout starts again when it has answered.
            if worker.stopping && !shuttingDown { worker.lifeTimer.stop() }
            delegate?.worker(worker, started: job)
        case .retired(let crossed):
            workerRetired(worker, crossed: crossed)
        case .exited(let status):
            workerExited(worker, status)
        }
    }

    /// RETIRE: the worker takes no more jobs and exits 0 next. Its replacement starts now; one that has not exited
    /// after the stop timeout is killed (a job whose RUN crossed RETIRE then counts its attempt).
    private func workerRetired(_ worker: WorkerProcess, crossed: [RunningJob]) {
        var metadata: Logger.Metadata = [
            "event": "worker_retired", "worker_pid": .int(worker.pid), "jobs": .int(worker.jobsDone), "how": "retire",
        ]
        if let first = crossed.first { metadata["job_id"] = .int(first.id) }
        if crossed.count > 1 { metadata["job_ids"] = .array(crossed.map { .int($0.id) }) }
        let ids = crossed.map { String($0.id) }.joined(separator: ", ")
        let note = crossed.isEmpty
            ? "" : "; job\(crossed.count == 1 ? "" : "s") \(ids) never started and go\(crossed.count == 1 ? "es" : "") back to pending once the worker has exited"
        logger.info("worker \(worker.pid) retired after \(worker.jobsDone) job(s) (RETIRE)\(note)", metadata: metadata)
        try? worker.lifeTimer.start(timeoutMs: Self.stopTimeoutMs) { [unowned worker] _ in
            worker.kill(reason: "worker \(worker.pid) said RETIRE but did not exit within \(Self.stopTimeoutMs) ms")
        }
        guard !shuttingDown else { return }
        reconcile()
    }

    private func workerReady(_ worker: WorkerProcess) {
        let now = Monotonic.nanos
        var metadata: Logger.Metadata = [
            "event": "worker_ready", "worker_pid": .int(worker.pid),
            "spawn_ms": .ms(Monotonic.ms(from: worker.spawnedAt, to: now)),
        ]
        if let replacing = worker.replacing {
            metadata["replaced_pid"] = .int(replacing.pid)
            metadata["respawn_ms"] = .ms(Monotonic.ms(from: replacing.diedAt, to: now))
        }
        logger.info("worker \(worker.pid) ready", metadata: metadata)
        if shuttingDown || worker.stopping {
            worker.requestStop()
            return
        }
        rollingStep()
        if worker.isIdle { delegate?.workerBecameIdle(worker) }
    }

    private func afterJob(_ worker: WorkerProcess) {
        guard worker.state != .exited, !worker.hasEnded else { return }
        if worker.stopping && !worker.saidRetire && !shuttingDown && worker.job?.started != true && !worker.lifeTimer.isActive {
            // SHUTDOWN was sent while it ran a job (protocol 4): now it should exit.
            startStopTimeout(worker)
        }
        if worker.stopping || worker.saidRetire || shuttingDown { return }
        if worker.retireAfterJob {
            worker.retireAfterJob = false
            retire(worker, reason: restarting ? "rolling restart" : "worker count lowered")
            reconcile()
            return
        }
        if let limit = configuration.maxJobsPerWorker, worker.jobsDone >= limit {
            recycle(worker, reason: "recycled after \(worker.jobsDone) job(s)")
            return
        }
        if let limit = configuration.maxWorkerRSSMB, let rss = ProcessStats.residentMB(pid: worker.pid), rss > limit {
            recycle(worker, reason: "recycled: RSS \(rss) MB exceeds \(limit) MB")
            return
        }
        if restarting && worker.generation < generation {
            rollingStep()
            if worker.stopping { return }
        }
        delegate?.workerBecameIdle(worker)
    }

    /// What the supervisor knows about `worker` now that its process has ended with `status`.
    static func exitFacts(_ worker: WorkerProcess, status: ExitStatus) -> WorkerExitJudgement.Facts {
        let held = worker.heldJobs.map { job in
            // Protocol 4 says which jobs began (STARTED); earlier versions leave only the kernel's word on the RUN.
            let pipelined = worker.protocolVersion >= WireFormat.pipelineVersion
            return WorkerExitJudgement.HeldJob(
                crossedRetire: worker.crossedJobs.contains { $0 === job },
                runUnread: pipelined ? !job.started : worker.neverRead(job), started: pipelined ? job.started : true)
        }
        return WorkerExitJudgement.Facts(
            status: status, wasReady: worker.readyAt != nil, failedToStart: worker.failedToStart,
            killedForAReason: worker.killReason != nil || worker.killCause != nil,
            killedForTimeout: worker.killCause?.isTimeout == true, askedToStop: worker.stopping,
            releaseHeldJob: worker.releaseJobOnExit, saidRetire: worker.saidRetire, jobsDone: worker.jobsDone,
            heldJob: held.first, queuedJobs: Array(held.dropFirst()))
    }

    private func recycle(_ worker: WorkerProcess, reason: String) {
        logger.info(
            "worker \(worker.pid) \(reason)",
            metadata: [
                "event": "worker_recycled", "worker_pid": .int(worker.pid), "jobs": .int(worker.jobsDone),
                "reason": .string(reason),
            ])
        retire(worker, reason: reason)
        reconcile()
    }

    private func workerExited(_ worker: WorkerProcess, _ status: ExitStatus) {
        workers.removeAll { $0 === worker }
        let judgement = WorkerExitJudgement(Self.exitFacts(worker, status: status))
        let heldJobs = worker.heldJobs
        let held = heldJobs.first
        let expected = worker.stopping || worker.saidRetire || shuttingDown || judgement.isRetirement
        let wasReady = worker.readyAt != nil
        var metadata: Logger.Metadata = [
            "event": "worker_exited", "worker_pid": .int(worker.pid), "status": .string(status.description),
            "expected": .bool(expected),
        ]
        if let held { metadata["job_id"] = .int(held.id) }
        let level: Logger.Level = expected && (status.isSuccess || status == .signaled(signal: SIGKILL)) ? .info : .warning
        logger.log(level: level, "worker \(worker.pid) \(status)", metadata: metadata)
        if judgement.isRetirement && !worker.saidRetire {
            // A worker of any protocol version may end its work by exiting 0 between jobs.
            var retired: Logger.Metadata = [
                "event": "worker_retired", "worker_pid": .int(worker.pid), "jobs": .int(worker.jobsDone), "how": "exit",
            ]
            if let held { retired["job_id"] = .int(held.id) }
            let note = held.map { "; job \($0.id) was sent after its last result and goes back to pending" } ?? ""
            logger.info("worker \(worker.pid) retired after \(worker.jobsDone) job(s) (exit 0 between jobs)\(note)", metadata: retired)
        }
        let outcomes = (judgement.heldJob.map { [$0] } ?? []) + judgement.queuedJobs
        for (index, (job, outcome)) in zip(heldJobs, outcomes).enumerated() {
            delegate?.worker(worker, endedHolding: job, first: index == 0, status: status, outcome: outcome)
        }
        worker.dropHeldJobs()
        delegate?.workerExited(worker, reason: judgement.reason)
        guard !shuttingDown else { return }
        if judgement.died && !worker.lossRecorded {
            worker.lossRecorded = true
            unreplacedLosses.append((worker.pid, worker.exitedAt ?? Monotonic.nanos))
        }
        if !wasReady && judgement.died {
            logger.warning(
                "worker \(worker.pid) died before it was ready (\(status))",
                metadata: ["event": "worker_start_failed", "worker_pid": .int(worker.pid)])
            registerFailure()
        } else if wasReady && judgement.died && !worker.stopping && held == nil {
            // Died while idle: the worker program itself is in trouble.
            registerFailure()
        }
        reconcile()
        rollingStep()
    }
}
