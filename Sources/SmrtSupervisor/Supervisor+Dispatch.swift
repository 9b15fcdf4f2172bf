import Foundation
import Logging
import SmrtJobs
import SmrtProtocol

/// Claiming jobs and sending them to idle workers; what wakes a claim.
///
/// Claims run on the database thread, in the same transaction as the results waiting to be recorded (group
/// commit). With `prefetch` > 0 the supervisor claims a few jobs ahead and holds them (`prefetched`), so a
/// worker that answers gets its next RUN at once from the loop, without waiting for the database. A held job
/// is `running` under this supervisor's lease (recovered like a running job if the supervisor dies); its
/// deadline starts when its RUN is sent, and `started_at` is rewritten to that moment when its result is
/// recorded. Held jobs go back to pending, attempt not counted, at shutdown, and when they have waited longer
/// than the poll interval (e.g. every worker is busy with long jobs).
extension Supervisor {
    /// A job claimed ahead, waiting for a worker.
    struct HeldJob {
        var job: SmrtJob
        /// When it was claimed (`Monotonic.nanos`).
        var claimedAt: UInt64
    }

    /// Sends held jobs to idle workers, then claims for the idle workers left and, with `topUp` (a worker just
    /// finished a job: jobs are flowing), enough to keep `prefetch` jobs per worker in hand.
    func maybeClaim(topUp: Bool = false) {
        guard phase == .running, let pool else { return }
        var idle = pool.idleWorkers
        while !prefetched.isEmpty, !idle.isEmpty {
            run(prefetched.removeFirst().job, on: idle.removeFirst())
        }
        var want = idle.count - inFlightClaims
        var ready = 0
        if topUp && configuration.prefetch > 0 {
            ready = pool.workers.reduce(0) { $0 + ($1.state == .running && !$1.stopping ? 1 : 0) }
            want = max(want, idle.count + configuration.prefetch * ready - prefetched.count - inFlightClaims)
        }
        guard want > 0 else { return }
        inFlightClaims += want
        claimToSend += want
        // A worker waits for this claim, or will soon (less than a job per worker in hand): commit without
        // waiting for the group-commit window.
        if idle.count > 0 || prefetched.count < ready { claimUrgent = true }
    }

    /// The database thread's answer to a claim (loop thread).
    func claimed(_ result: Result<[SmrtJob], Error>, asked: Int) {
        inFlightClaims -= asked
        switch result {
        case .success(let jobs):
            dispatch(jobs, asked: asked)
        case .failure(let error):
            // The poll timer tries again; a busy database is not a reason to spin.
            logger.warning("claim failed: \(error)", metadata: ["event": "claim_failed"])
        }
        checkShutdownProgress()
    }

    /// Hands the results and claims gathered during this loop iteration to the database thread in one go, so
    /// they share a transaction (runs once per loop iteration, after I/O callbacks).
    func flushToDatabase() {
        updateWatch()
        guard !outbox.isEmpty || claimToSend > 0 else { return }
        database.submit(outbox, claim: claimToSend, urgent: claimUrgent)
        outbox.removeAll(keepingCapacity: true)
        claimToSend = 0
        claimUrgent = false
    }

    /// Sends each claimed job to an idle worker, holds the rest for the next worker to finish; once shutting
    /// down, jobs go back to pending without counting the attempt.
    private func dispatch(_ jobs: [SmrtJob], asked: Int) {
        guard phase == .running else {
            if !jobs.isEmpty { release(jobs, reason: "claimed while the supervisor was stopping") }
            return
        }
        var idle = pool.idleWorkers
        let now = Monotonic.nanos
        for job in jobs {
            if prefetched.isEmpty, !idle.isEmpty {
                run(job, on: idle.removeFirst())
            } else {
                prefetched.append(HeldJob(job: job, claimedAt: now))
            }
        }
        // A worker may have come free meanwhile with jobs held.
        while !prefetched.isEmpty, !idle.isEmpty {
            run(prefetched.removeFirst().job, on: idle.removeFirst())
        }
        // A full claim means more may be ready.
        if jobs.count == asked { maybeClaim(topUp: true) }
    }

    /// Releases held jobs that waited longer than `olderThanMs` (all of them with nil).
    func releaseHeldJobs(olderThanMs: Int?, reason: String) {
        guard !prefetched.isEmpty else { return }
        var stale: [SmrtJob] = []
        if let olderThanMs {
            let cutoff = Monotonic.nanos &- UInt64(olderThanMs) * 1_000_000
            while let first = prefetched.first, first.claimedAt <= cutoff {
                stale.append(prefetched.removeFirst().job)
            }
        } else {
            stale = prefetched.map(\.job)
            prefetched.removeAll()
        }
        if !stale.isEmpty { release(stale, reason: reason) }
    }

    /// RUN, the deadline timer and the `job_started` line.
    private func run(_ job: SmrtJob, on worker: WorkerProcess) {
        // Timers count from the loop's cached time: refresh it so the deadline is not armed from a stale "now".
        loop.updateTime()
        let wallNow = Date()
        let running = RunningJob(job: job, dispatchedAt: Monotonic.nanos, dispatchedWall: wallNow)
        worker.job = running
        let request = RunRequest(
            jobId: job.id, attempt: UInt32(clamping: max(1, job.attempts)),
            deadlineMillis: UInt64(max(0, (wallNow.timeIntervalSince1970 * 1000).rounded())) + UInt64(max(0, job.timeout)),
            objectType: job.objectType, objectId: job.objectId, method: job.method,
            argsJSON: job.args.isEmpty ? "{}" : JSONValue.object(job.args).jsonText)
        pool.limits.applyBeforeJob(pid: worker.pid)
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

    /// The backend's change signal fired: another process may have enqueued or retried a job.
    func databaseChanged() {
        guard phase == .running, !pool.idleWorkers.isEmpty else { return }
        maybeClaim()
    }

    /// Starts the backend's change signal; without one, the poll finds new jobs.
    func watchDatabase() {
        do {
            let signal = try backend!.makeChangeSignal()
            changeSignal = signal
            try signal.start(onChange: mailbox.poster { [unowned self] in databaseChanged() })
            watching = true
        } catch {
            changeSignal?.stop()
            changeSignal = nil
            logger.warning(
                "cannot watch the database for new jobs (\(error)); relying on the \(configuration.pollInterval) ms poll",
                metadata: ["event": "watch_failed"])
        }
    }

    /// The change signal only matters while a worker waits for work: while every worker is busy (or has a job
    /// held for it), it is paused, so our own commits do not wake the loop for nothing or cost the writer
    /// inotify work. Resuming reports a change at once if one may have been missed. Runs once per loop
    /// iteration.
    func updateWatch() {
        guard let changeSignal, let pool, phase == .running else { return }
        let wanted = pool.workers.contains { $0.isIdle }
        guard wanted != watching else { return }
        changeSignal.setActive(wanted)
        watching = wanted
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
