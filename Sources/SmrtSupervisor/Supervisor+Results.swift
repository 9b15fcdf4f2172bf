import Foundation
import Logging
import SmrtJobs
import SmrtProtocol

/// Recording what happened to each attempt: results, crashes, releases; and the log line for each.
extension Supervisor: WorkerPoolDelegate {
    func workerBecameIdle(_ worker: WorkerProcess) {
        // A new worker's watchdog is armed at once (it has run nothing yet).
        if worker.jobsDone == 0, lease.mayFeedWatchdogs(at: clock.latestNow()) {
            worker.feedWatchdog(milliseconds: lease.watchdogMs)
        }
        maybeClaim(topUp: planner.topUpWhenIdle(workerRanJobs: worker.jobsDone > 0))
    }

    func worker(_ worker: WorkerProcess, finished running: RunningJob, with result: WorkerProcess.Result) {
        if !running.answeredWhileQueued {
            worker.jobTimer.stop()
            // The job queued behind it (protocol 4) is the worker's next: covered from now until its STARTED (unless
            // that STARTED came in the same read: it is handled next, and arms the deadline).
            if let next = worker.job, !worker.hasEnded, !worker.startedIsNext { armDeadline(next, on: worker) }
        }
        let duration = running.elapsedMs()
        // A job dropped before it started (CANCEL of a queued job) says nothing about how long jobs take.
        if running.started { planner.attemptEnded(durationMs: duration) }
        switch result {
        case .ok(let result):
            // A result that arrives after CANCEL still means the work was done: retrying it would repeat it.
            record(
                running, pid: worker.pid, durationMs: duration, result: result, failure: nil,
                workerExit: "returned a result")
        case .error(let retryable, let message):
            var error = message
            var exit = "returned an error"
            if running.cancelRequested {
                // The job was cancelled: the store drops the attempt (the job is no longer ours).
                exit += " after CANCEL: the job was cancelled"
            } else if running.timeoutState == .cancelled || running.timeoutState == .killed {
                error = "timed out after \(running.job.timeout) ms"
                exit += " after CANCEL at its \(running.job.timeout) ms timeout"
            }
            if !running.started { exit = "dropped before it started, after CANCEL: the job was cancelled" }
            record(
                running, pid: worker.pid, durationMs: duration, result: nil,
                failure: (error, retryable ? nextRunAt(running.job) : nil), workerExit: exit, ran: running.started)
        }
    }

    func worker(
        _ worker: WorkerProcess, endedHolding running: RunningJob, first: Bool, status: ExitStatus,
        outcome: WorkerExitJudgement.JobOutcome
    ) {
        worker.jobTimer.stop()
        if case .release(let reason) = outcome {
            progress.discard(jobId: running.id)
            release([running.job], reason: reason)
            return
        }
        // A kill was about the worker's first job; a job it began after that one (its STARTED read at the exit)
        // ended with the process.
        var error = (first ? worker.killReason : nil) ?? pool.limits.describeDeath(pid: worker.pid, status: status)
        var exit = (first ? worker.killCause?.attemptEnd : nil) ?? pool.limits.describeAttemptEnd(status: status)
        if worker.killReason == nil, worker.protocolVersion >= WireFormat.keepaliveVersion,
            status == .exited(code: Int64(WireFormat.watchdogExitCode))
        {
            error += " (its watchdog expired: no KEEPALIVE from the supervisor in time)"
            exit += ": its watchdog expired"
        }
        record(
            running, pid: worker.pid, durationMs: running.elapsedMs(), result: nil,
            failure: (error, first && worker.jobFailsForGood ? nil : nextRunAt(running.job)), workerExit: exit)
    }

    func workerExited(_ worker: WorkerProcess, reason: WorkerExitReason) {
        metrics.workerExited(reason)
        checkShutdownProgress()
    }

    func workerSpawnFailed() {
        metrics.workerExited(.startFailed)
    }

    /// When to retry under the job's strategy (its attempts were counted at claim), nil to fail for good.
    func nextRunAt(_ job: SmrtJob) -> Date? {
        var random = SystemRandomNumberGenerator()
        return job.retryStrategy.nextRunAt(after: job, now: clock.now(), using: &random)
    }

    /// Queues the attempt's outcome for the next group commit (with its last progress, written before it); logs
    /// what the store did with it.
    private func record(
        _ running: RunningJob, pid: Int32, durationMs: Double, result: JSONValue?, failure: (String, Date?)?,
        workerExit: String, ran: Bool = true
    ) {
        progress.attemptEnded(jobId: running.id)
        if ran { metrics.attemptEnded(durationSeconds: durationMs / 1000) }
        // Stored errors and log lines never carry values of secret-looking keys (`password=...`).
        let failure = failure.map { (ArgumentRedaction.redact(text: $0.0), $0.1) }
        let queue = running.job.queue, type = running.job.objectType
        let pending = DatabaseThread.PendingFinish(
            jobId: running.id, result: result, failure: failure.map { (error: $0.0, retryAt: $0.1) },
            startedAt: running.startedWall, workerPid: pid, workerExit: workerExit
        ) { [self] result in
            metrics.attemptRecorded(queue: queue, type: type, result: result)
            logOutcome(running, pid: pid, durationMs: durationMs, error: failure?.0, result: result)
            if case .retrying(let at) = result { wake(at: at) }
        }
        planner.record(pending)
    }

    private func logOutcome(_ running: RunningJob, pid: Int32, durationMs: Double, error: String?, result: FinishResult?) {
        let job = running.job
        var metadata: Logger.Metadata = [
            "job_id": .int(job.id), "type": .string(running.label), "worker_pid": .int(pid),
            "duration_ms": .ms(durationMs), "attempt": .int(job.attempts), "max_attempts": .int(job.maxAttempts),
        ]
        if let error { metadata["error"] = .string(error) }
        let head = "job \(job.id) \(running.label)"
        switch result {
        case .completed:
            metadata["event"] = "job_completed"
            metadata["outcome"] = "completed"
            logger.info("\(head) completed", metadata: metadata)
        case .retrying(let at):
            let delay = max(0, Int((at.timeIntervalSinceNow * 1000).rounded()))
            metadata["event"] = "job_retrying"
            metadata["outcome"] = "retrying"
            metadata["retry_in_ms"] = .int(delay)
            logger.warning(
                "\(head) failed (attempt \(job.attempts) of \(job.maxAttempts)): \(error ?? "?"); retrying in \(delay) ms",
                metadata: metadata)
        case .failed:
            metadata["event"] = "job_failed"
            metadata["outcome"] = "failed"
            logger.error("\(head) failed: \(error ?? "?")", metadata: metadata)
        case .notOwned:
            metadata["event"] = "job_not_owned"
            metadata["outcome"] = "not_owned"
            logger.warning(
                "\(head) finished but is no longer ours (cancelled, or taken back after our lease expired); result dropped",
                metadata: metadata)
        case nil:
            metadata["event"] = "job_record_failed"
            metadata["outcome"] = "unrecorded"
            logger.error("\(head) outcome could not be written to the database", metadata: metadata)
        }
    }

    /// Puts jobs back to pending without counting the attempt (they did not run, or shutdown cut them off).
    func release(_ jobs: [SmrtJob], reason: String) {
        let ids = jobs.map(\.id), workerId = leaseId
        database.perform(retryOnBusy: true, { context in
            try context.store.release(jobIds: ids, workerId: workerId, now: context.clock.now())
        }) { [self] result in
            if case .failure(let error) = result {
                logger.error("could not release jobs \(ids): \(error)", metadata: ["event": "release_failed"])
                return
            }
            for job in jobs {
                logger.info(
                    "job \(job.id) \(job.objectType).\(job.method) released back to pending (\(reason))",
                    metadata: [
                        "event": "job_released", "job_id": .int(job.id), "type": .string("\(job.objectType).\(job.method)"),
                        "outcome": "released", "reason": .string(reason),
                    ])
            }
        }
    }
}
