import Foundation
import Logging
import SmrtJobs
import SmrtProtocol

/// Claiming jobs and sending them to idle workers; what wakes a claim.
///
/// Claims run on the database thread, in the same transaction as the results waiting to be recorded (group
/// commit). With `prefetch` > 0 the supervisor claims a few jobs ahead and holds them (see `ClaimPlanner`), so a
/// worker that answers gets its next RUN at once from the loop, without waiting for the database. A held job
/// is `running` under this supervisor's lease (recovered like a running job if the supervisor dies); its
/// deadline starts when it starts (its RUN, or its STARTED for a worker of protocol 4), and `started_at` is
/// rewritten to that moment when its result is recorded. While jobs are short, held jobs are also queued behind
/// the running job of workers of protocol 4 (`PipelinePolicy`, `--pipeline`). Held jobs go back to pending, attempt not counted, at shutdown, and when they have waited longer
/// than the poll interval (e.g. every worker is busy with long jobs).
extension Supervisor {
    /// Sends held jobs to idle workers, then claims for the idle workers left and, with `topUp` (a worker just
    /// finished a short job: jobs are flowing), enough to keep `prefetch` jobs per worker in hand.
    func maybeClaim(topUp: Bool = false) {
        guard phase == .running, let pool, holdsLease() else { return }
        let idle = pool.idleWorkers
        let running = pool.workers.count { $0.state == .running && !$0.stopping && !$0.saidRetire }
        let jobs = planner.plan(idleWorkers: idle.count, runningWorkers: running, topUp: topUp)
        for (job, worker) in zip(jobs, idle) { run(job, on: worker) }
        fillQueueSlots()
    }

    /// Queues held jobs behind the running jobs of workers of protocol 4, while jobs are short (`PipelinePolicy`):
    /// after the idle workers have been served, so a job never waits behind another while a worker is free.
    private func fillQueueSlots() {
        guard !planner.held.isEmpty else { return }
        let slots = pool.queueSlots(pipeline, jobsAreShort: planner.jobsAreShort, recentJobMs: planner.recentJobMs)
        guard !slots.isEmpty else { return }
        let jobs = planner.plan(idleWorkers: 0, queueSlots: slots.count, runningWorkers: 0, topUp: false)
        for (job, worker) in zip(jobs, slots) { run(job, on: worker) }
    }

    /// The database thread's answer to a claim made at `claimedAt` (loop thread): each job to an idle worker, the
    /// rest held; once shutting down, jobs go back to pending without counting the attempt. A claim that came back
    /// with fewer jobs than asked found nothing more ready: then the next delayed job's time is looked up if it may
    /// have changed, and the wake-ups the claim came too early for are claimed for again.
    func claimed(_ result: Result<[SmrtJob], Error>, asked: Int, at claimedAt: Date) {
        serveWakeups(claimedAt: claimedAt)
        switch result {
        case .success(let jobs) where phase == .running && holdsLease():
            let idle = pool.idleWorkers
            let (run, claimMore) = planner.received(jobs, asked: asked, idleWorkers: idle.count, now: Monotonic.nanos)
            for (job, worker) in zip(run, idle) { self.run(job, on: worker) }
            fillQueueSlots()
            if claimMore {
                maybeClaim(topUp: planner.jobsAreShort)
            } else if !delayedJobsKnown || (jobs.isEmpty && wakeups.next == nil) {
                // Also whenever a claim finds nothing and no wake-up is known: the store answers only times after
                // the claim, so this cannot spin, and a wake-up lost between a look-up and the claims that served
                // it (seen once in CI: three delayed jobs left to the 5 s poll) is found again.
                lookUpNextDelayedJob(after: claimedAt)
            }
        case .success(let jobs):
            planner.claimAbandoned(asked: asked)
            let why = phase == .running ? "lease not renewed in time" : "claimed while the supervisor was stopping"
            if !jobs.isEmpty { release(jobs, reason: why) }
        case .failure(let error):
            planner.claimAbandoned(asked: asked)
            // The poll timer tries again; a busy database is not a reason to spin, so due wake-ups are given up.
            serveWakeups(claimedAt: clock.now())
            logger.warning("claim failed: \(error)", metadata: ["event": "claim_failed"])
        }
        claimForDueWakeups(answeredClaimAt: claimedAt)
        checkShutdownProgress()
    }

    /// After a timer callback that may have asked for a claim: hands it to the database thread at once. libuv runs
    /// timers before it polls for I/O and the check handle (`flushToDatabase`) after the poll returns, so a claim
    /// asked by a timer would wait in the planner until some I/O or the next timer woke the loop: a retry's
    /// wake-up claimed up to a second late, at the next schedule check.
    func flushFromTimer() {
        flushToDatabase()
    }

    /// Hands the results, claims and progress values gathered during this loop iteration to the database thread
    /// in one go, so they share a transaction (runs once per loop iteration, after I/O callbacks, and after the
    /// timers that claim).
    func flushToDatabase() {
        updateWatch()
        let commit = planner.takeCommit()
        let updates = takeDueProgress()
        guard commit != nil || !updates.isEmpty else { return }
        database.submit(
            commit?.finishes ?? [], progress: updates, claim: commit?.claim ?? 0, urgent: commit?.urgent ?? false)
    }

    /// Releases held jobs that waited longer than `olderThanMs` (all of them with nil).
    func releaseHeldJobs(olderThanMs: Int?, reason: String) {
        let cutoff = olderThanMs.map { Monotonic.nanos &- UInt64($0) * 1_000_000 }
        let stale = planner.takeHeld(claimedAtOrBefore: cutoff)
        if !stale.isEmpty { release(stale, reason: reason) }
    }

    /// RUN; for a worker of protocol 1 to 3 also the deadline timer and the `job_started` line, which for one of
    /// protocol 4 wait for its STARTED (`worker(_:started:)`). A protocol 4 job that is its worker's first job gets a
    /// deadline from its RUN until then, so a worker that never starts it is stopped.
    private func run(_ job: SmrtJob, on worker: WorkerProcess) {
        // Timers count from the loop's cached time: refresh it so the deadline is not armed from a stale "now".
        loop.updateTime()
        let wallNow = Date()
        var request = RunRequest(
            jobId: job.id, attempt: UInt32(clamping: max(1, job.attempts)),
            deadlineMillis: UInt64(max(0, (wallNow.timeIntervalSince1970 * 1000).rounded())) + UInt64(max(0, job.timeout)),
            objectType: job.objectType, objectId: job.objectId, method: job.method, argsJSON: "")
        // Measured before the args' text is built: a job written past enqueue's check can be megabytes large.
        let bytes = WorkerMessage.run(request).bodyByteCount + JSONValue.object(job.args).jsonByteCount
        guard bytes <= WireFormat.defaultMaxFrameBytes else {
            failUndeliverable(job, runMessageBytes: bytes)
            return
        }
        request.argsJSON = job.args.isEmpty ? "{}" : JSONValue.object(job.args).jsonText
        let pipelined = worker.protocolVersion >= WireFormat.pipelineVersion
        let running = RunningJob(
            job: job, dispatchedAt: Monotonic.nanos, dispatchedWall: clock.now(), started: !pipelined)
        let first = worker.job == nil
        worker.assign(running)
        if !pipelined { pool.limitCPU(of: worker) }
        guard worker.send(.run(request), runJob: running) else {
            // The worker closed fd 3 (it is ending: end of work, or a crash), so the RUN never reached it. The job
            // waits with the worker for its exit, which decides what becomes of it (`WorkerExitJudgement`).
            if !pipelined { worker.cpuTimer.stop() }
            return
        }
        if pipelined {
            if first {
                armDeadline(running, on: worker)
            } else if configuration.debug {
                logger.debug(
                    "job \(job.id) \(running.label) queued behind job \(worker.job?.id ?? 0) on worker \(worker.pid)",
                    metadata: [
                        "event": "job_queued", "job_id": .int(job.id), "type": .string(running.label),
                        "worker_pid": .int(worker.pid), "behind_job_id": .int(worker.job?.id ?? 0),
                    ])
            }
            return
        }
        jobStarted(running, on: worker)
    }

    /// A worker of protocol 4 said STARTED for its first job: the job's deadline, CPU budget and `started_at` count
    /// from now. A job cancelled before it began gets the cancel grace instead (it was sent CANCEL).
    func worker(_ worker: WorkerProcess, started running: RunningJob) {
        loop.updateTime()
        running.markStarted(now: Monotonic.nanos, wall: clock.now())
        guard !worker.hasEnded else { return }
        // A warning about the wait for STARTED was not about the job.
        if running.timeoutState == .warned { running.timeoutState = .none }
        pool.limitCPU(of: worker)
        if running.cancelRequested {
            armCancelGrace(running, on: worker)
            metrics.attemptStarted(running.job, at: running.startedWall)
            logStarted(running, on: worker)
            return
        }
        jobStarted(running, on: worker)
    }

    /// The deadline timer, the queue-wait metric and the `job_started` line of a job that starts now.
    private func jobStarted(_ running: RunningJob, on worker: WorkerProcess) {
        armDeadline(running, on: worker)
        metrics.attemptStarted(running.job, at: running.startedWall)
        logStarted(running, on: worker)
    }

    private func logStarted(_ running: RunningJob, on worker: WorkerProcess) {
        let job = running.job
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

    /// A job whose RUN message would exceed the worker protocol's frame limit (written to the database past
    /// enqueue's check): no worker could ever receive it, and sending it would only end the worker with a
    /// protocol error at every attempt. It fails for good at once, without a worker, naming the cause; the
    /// worker it was meant for stays idle and is offered the next job.
    private func failUndeliverable(_ job: SmrtJob, runMessageBytes bytes: Int) {
        let label = "\(job.objectType).\(job.method)"
        let error = "job too large to send to a worker: its RUN message would be \(bytes) bytes, over the worker "
            + "protocol's frame limit of \(WireFormat.defaultMaxFrameBytes) bytes (args may be at most "
            + "\(JobSpec.maxArgsBytes(objectType: job.objectType, method: job.method, objectId: job.objectId)) bytes of JSON); not run"
        planner.record(DatabaseThread.PendingFinish(
            jobId: job.id, result: nil, failure: (error: error, retryAt: nil), startedAt: clock.now(),
            workerExit: "not run: too large to send to a worker"
        ) { [self] result in
            metrics.attemptRecorded(queue: job.queue, type: job.objectType, result: result)
            var metadata: Logger.Metadata = [
                "event": "job_failed", "job_id": .int(job.id), "type": .string(label), "attempt": .int(job.attempts),
                "max_attempts": .int(job.maxAttempts), "outcome": "failed", "error": .string(error),
                "run_message_bytes": .int(bytes),
            ]
            switch result {
            case .notOwned?:
                // Cancelled (or taken back) meanwhile: nothing was written.
                metadata["event"] = "job_not_owned"
                metadata["outcome"] = "not_owned"
                logger.warning("job \(job.id) \(label) was too large to run and is no longer ours", metadata: metadata)
                return
            case nil:
                metadata["event"] = "job_record_failed"
                metadata["outcome"] = "unrecorded"
            default:
                break
            }
            logger.error("job \(job.id) \(label) failed: \(error)", metadata: metadata)
        })
        mailbox.post { [unowned self] in maybeClaim() }
    }

    // MARK: Wake-ups

    /// The backend's change signal fired: another process may have enqueued or retried a job, now or for later.
    func databaseChanged() {
        delayedJobsKnown = false
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

    /// Claims when a job comes due at `date` (a retry, a job taken back, the next delayed job), instead of waiting
    /// for the next poll.
    func wake(at date: Date) {
        guard phase == .running else { return }
        if wakeups.add(date) { claimForDueWakeups() }
    }

    /// Claims when the soonest wake-up is due (the wake-up timer's work, and after the answer of a claim made at
    /// `answeredClaimAt`), then arms the timer for the next one.
    func claimForDueWakeups(answeredClaimAt: Date? = nil) {
        guard phase == .running else { return }
        let now = clock.now()
        guard wakeups.isDue(at: now) else { return armWakeup() }
        if let answeredClaimAt, planner.inFlightClaims == 0, !wakeups.claimAtOnceAfterEarlyAnswer() {
            // A claim made after the wake-up came due did not see the job: the clock went back. Claim again when
            // the job is due by the claim's clock, not at once.
            let ms = max(1, wakeups.millisecondsUntilNext(from: answeredClaimAt) ?? 1)
            return armWakeup(inMs: ms)
        }
        maybeClaim()
        if configuration.debug {
            logger.debug(
                "wake-up due at \(wakeups.next.map(Timestamp.format) ?? "-")",
                metadata: [
                    "event": "wakeup_due", "claims_in_flight": .int(planner.inFlightClaims),
                    "idle_workers": .int(pool?.idleWorkers.count ?? 0), "held": .int(planner.held.count),
                    "after_claim_answer": .bool(answeredClaimAt != nil),
                ])
        }
        // Nothing asked or in flight: no worker can take a job now (each is busy, or the lease is in doubt); the
        // claim made when one becomes idle sees the due jobs anyway.
        if planner.inFlightClaims == 0 { serveWakeups(claimedAt: now) }
        armWakeup()
    }

    /// A claim's answer (or a claim that needs not be made): the wake-ups it came late enough for are served. The
    /// soonest delayed job known may have been among them, so the next is looked up after the next claim that
    /// finds nothing more ready.
    private func serveWakeups(claimedAt: Date) {
        let served = wakeups.claimed(at: claimedAt)
        guard served > 0 else { return }
        delayedJobsKnown = false
        if configuration.debug {
            logger.debug(
                "\(served) wake-up(s) served by a claim at \(Timestamp.format(claimedAt))",
                metadata: [
                    "event": "wakeups_served", "served": .int(served), "claimed_at": .string(Timestamp.format(claimedAt)),
                    "next": .string(wakeups.next.map(Timestamp.format) ?? "-"),
                ])
        }
    }

    /// Arms the wake-up timer for the soonest wake-up not yet due (or in `inMs`); a due one waits for the answer of
    /// the claim in flight, which claims again if it came too early. A due one with no claim in flight (the
    /// database's clock moved on between two readings: the database thread corrects it while the loop reads it) gets
    /// the timer at once, whose callback claims or serves it: stopping the timer then stranded it until the poll
    /// (seen in CI: a retry 3.3 s late, with the poll at 5 s).
    private func armWakeup(inMs: Double? = nil) {
        guard var ms = inMs ?? wakeups.millisecondsUntilNext(from: clock.now()), ms > 0 || planner.inFlightClaims == 0
        else {
            wakeupTimer.stop()
            return
        }
        ms = max(ms, 1)
        // Timers count from the loop's cached time: refresh it so the timer is not armed from a stale "now". The
        // callback checks the time again (a timer may fire up to 1 ms early) and re-arms for the rest.
        loop.updateTime()
        if configuration.debug {
            logger.debug(
                "wake-up timer armed for \(Int(ms.rounded(.up))) ms",
                metadata: ["event": "wakeup_armed", "in_ms": .int(Int(ms.rounded(.up)))])
        }
        try? wakeupTimer.start(timeoutMs: UInt64(ms.rounded(.up))) { [unowned self] _ in
            claimForDueWakeups()
            flushFromTimer()
        }
    }

    /// Asks the store when the next pending job of our queues comes due after `claimedAt` (a job enqueued with a
    /// delay by another process, say), and wakes then. Asked after a claim that found nothing more ready, once per
    /// change: after the change signal, or when the time known before came due.
    private func lookUpNextDelayedJob(after claimedAt: Date) {
        delayedJobsKnown = true
        let queues = configuration.queues
        database.perform({ context in try context.store.soonestRunAt(after: claimedAt, queues: queues) }) { [self] result in
            switch result {
            case .success(let date?):
                wake(at: date)
            case .success(nil):
                break
            case .failure(let error):
                delayedJobsKnown = false
                logger.warning(
                    "cannot look up when the next delayed job is due (\(error)); relying on the \(configuration.pollInterval) ms poll",
                    metadata: ["event": "wakeup_lookup_failed"])
            }
        }
    }
}
