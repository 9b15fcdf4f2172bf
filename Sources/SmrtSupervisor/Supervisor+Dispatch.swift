import Foundation
import Logging
import SmrtJobs
import SmrtProtocol

/// Claiming jobs and sending them to idle workers; what wakes a claim.
///
/// A claim asks for exactly as many jobs as there are idle workers not already covered by a claim in flight:
/// no prefetch, so a claimed job is always running (its deadline armed) a moment after the claim commits,
/// and a job never waits claimed behind another job.
extension Supervisor {
    /// Claims jobs for the idle workers, if any and if not shutting down.
    func maybeClaim() {
        guard phase == .running, let pool else { return }
        let want = pool.idleWorkers.count - inFlightClaims
        guard want > 0 else { return }
        inFlightClaims += want
        let workerId = leaseId, queues = configuration.queues
        database.perform({ context in
            try context.store.claim(workerId: workerId, limit: want, queues: queues, now: Date())
        }) { [self] result in
            inFlightClaims -= want
            switch result {
            case .success(let jobs):
                dispatch(jobs, asked: want)
            case .failure(let error):
                // The poll timer tries again; a busy database is not a reason to spin.
                logger.warning("claim failed: \(error)", metadata: ["event": "claim_failed"])
            }
            checkShutdownProgress()
        }
    }

    /// Sends each claimed job to an idle worker; jobs that find none (a worker died meanwhile, or shutdown
    /// began) go back to pending without counting the attempt.
    private func dispatch(_ jobs: [SmrtJob], asked: Int) {
        var unplaced: [SmrtJob] = []
        for job in jobs {
            guard phase == .running, let worker = pool.idleWorkers.first else {
                unplaced.append(job)
                continue
            }
            run(job, on: worker)
        }
        if !unplaced.isEmpty { release(unplaced, reason: "claimed while no worker was free") }
        // A full claim means more may be ready.
        if jobs.count == asked { maybeClaim() }
    }

    /// RUN, the deadline timer and the `job_started` line.
    private func run(_ job: SmrtJob, on worker: WorkerProcess) {
        // Timers count from the loop's cached time: refresh it so the deadline is not armed from a stale "now".
        loop.updateTime()
        let running = RunningJob(job: job, dispatchedAt: Monotonic.nanos)
        worker.job = running
        let request = RunRequest(
            jobId: job.id, attempt: UInt32(clamping: max(1, job.attempts)),
            deadlineMillis: UInt64(max(0, (Date().timeIntervalSince1970 * 1000).rounded())) + UInt64(max(0, job.timeout)),
            objectType: job.objectType, objectId: job.objectId, method: job.method,
            argsJSON: JSONValue.object(job.args).jsonText)
        guard worker.send(.run(request)) else {
            // The worker is going away; its exit releases the job (it never ran).
            worker.releaseJobOnExit = true
            worker.kill(reason: "worker \(worker.pid) could not be sent the job")
            return
        }
        armDeadline(running, on: worker)
        var metadata: Logger.Metadata = [
            "event": "job_started", "job_id": .int(job.id), "type": .string(running.label),
            "worker_pid": .int(worker.pid), "attempt": .int(job.attempts), "timeout_ms": .int(job.timeout),
            "timeout_behavior": .string(job.timeoutBehavior.rawValue), "outcome": "started",
        ]
        if configuration.debug {
            metadata["args"] = .string(ArgumentRedaction.redact(.object(job.args)).jsonText)
        }
        logger.info("job \(job.id) \(running.label) started", metadata: metadata)
    }

    // MARK: Wake-ups

    /// Something changed in the database directory (WAL writes): if another process committed (data_version
    /// moved), claim at once instead of waiting for the poll.
    func databaseChanged() {
        guard phase == .running, !pool.idleWorkers.isEmpty else { return }
        if changeCheckInFlight {
            changeCheckAgain = true
            return
        }
        changeCheckInFlight = true
        database.perform({ context in try context.store.changeToken() }) { [self] result in
            changeCheckInFlight = false
            if case .success(let token) = result, token != lastChangeToken {
                lastChangeToken = token
                maybeClaim()
            }
            if changeCheckAgain {
                changeCheckAgain = false
                databaseChanged()
            }
        }
    }

    /// Watches the database's directory: SQLite writes its WAL (and creates it) there.
    func watchDatabase() {
        let url = URL(fileURLWithPath: configuration.databasePath)
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        do {
            let watcher = try UVFSEvent(loop: loop)
            self.watcher = watcher
            try watcher.start(path: directory) { [unowned self] _, change in
                guard case .success(let change) = change else { return }
                if let file = change.filename, !file.hasPrefix(name) { return }
                databaseChanged()
            }
        } catch {
            watcher?.close()
            watcher = nil
            logger.warning(
                "cannot watch \(directory) for new jobs (\(error)); relying on the \(configuration.pollInterval) ms poll",
                metadata: ["event": "watch_failed"])
        }
    }

    /// Claims again when a retry comes due (instead of waiting for the next poll).
    func wake(at date: Date) {
        guard phase == .running else { return }
        let index = wakeups.firstIndex { $0 > date } ?? wakeups.endIndex
        if index > 0 && abs(wakeups[index - 1].timeIntervalSince(date)) < 0.001 { return }
        wakeups.insert(date, at: index)
        if wakeups.count > 1000 { wakeups.removeLast() }
        if index == 0 { armWakeup() }
    }

    private func armWakeup() {
        guard let first = wakeups.first else {
            wakeupTimer.stop()
            return
        }
        // +1 ms: runAt is compared with the wall clock at claim time, which must be past it.
        let ms = max(0, first.timeIntervalSinceNow * 1000).rounded(.up) + 1
        try? wakeupTimer.start(timeoutMs: UInt64(ms)) { [unowned self] _ in
            let now = Date()
            wakeups.removeAll { $0 <= now }
            maybeClaim()
            armWakeup()
        }
    }
}
