import Logging
import SmrtJobs

/// Job deadlines: `kill` (SIGKILL at the deadline, never before), `fail` (CANCEL, then SIGKILL after a grace),
/// `warn` (a warning, the job runs on). A worker of protocol 4 that has not said STARTED for its next job within the
/// job's timeout (counted from when the job before it answered) hangs between jobs: it is killed (`warn`: a warning),
/// and the job, which never started, goes back to pending uncounted.
extension Supervisor {
    /// Arms the worker's job timer for the deadline, rounding up so it cannot fire early by the timer's
    /// rounding; the callback still checks the monotonic clock, since libuv timers can fire up to 1 ms early.
    func armDeadline(_ running: RunningJob, on worker: WorkerProcess) {
        let now = Monotonic.nanos
        let remaining = running.deadline > now ? running.deadline - now : 0
        let ms = (remaining + 999_999) / 1_000_000
        try? worker.jobTimer.start(timeoutMs: ms) { [unowned self, unowned worker] _ in
            deadlineReached(running, on: worker)
        }
    }

    private func deadlineReached(_ running: RunningJob, on worker: WorkerProcess) {
        guard worker.job === running, worker.state != .exited else { return }
        let now = Monotonic.nanos
        if now < running.deadline {
            loop.updateTime()
            armDeadline(running, on: worker)
            return
        }
        let job = running.job
        var metadata: Logger.Metadata = [
            "event": "job_timeout", "job_id": .int(job.id), "type": .string(running.label),
            "worker_pid": .int(worker.pid), "deadline_ms": .int(job.timeout),
            "elapsed_ms": .ms(running.elapsedMs(now: now)), "late_ms": .ms(Monotonic.ms(from: running.deadline, to: now)),
        ]
        if !running.started {
            return startOverdue(running, on: worker, metadata: metadata)
        }
        switch job.timeoutBehavior {
        case .kill:
            running.timeoutState = .killed
            let reason = "timed out after \(job.timeout) ms; worker \(worker.pid) killed"
            worker.kill(reason: reason, cause: .timeout(ms: job.timeout))
            metrics.killed(latenessSeconds: Double(now &- running.deadline) / 1e9)
            metadata["action"] = "kill"
            logger.warning("job \(job.id) \(running.label) \(reason)", metadata: metadata)
        case .fail:
            running.timeoutState = .cancelled
            running.cancelSent = true
            worker.send(.cancel(jobId: job.id))
            metadata["action"] = "cancel"
            metadata["grace_ms"] = .int(configuration.cancelGrace)
            logger.warning(
                "job \(job.id) \(running.label) timed out after \(job.timeout) ms; cancel sent to worker \(worker.pid)",
                metadata: metadata)
            try? worker.jobTimer.start(timeoutMs: UInt64(configuration.cancelGrace)) { [unowned self, unowned worker] _ in
                cancelGraceExpired(running, on: worker)
            }
        case .warn:
            running.timeoutState = .warned
            metadata["action"] = "warn"
            logger.warning(
                "job \(job.id) \(running.label) exceeded its timeout of \(job.timeout) ms; still running (warn)",
                metadata: metadata)
        }
    }

    /// The worker's next job (protocol 4) reached its timeout without a STARTED: the worker is stuck between jobs.
    private func startOverdue(_ running: RunningJob, on worker: WorkerProcess, metadata: Logger.Metadata) {
        var metadata = metadata
        metadata["started"] = .bool(false)
        let job = running.job
        if job.timeoutBehavior == .warn {
            running.timeoutState = .warned
            metadata["action"] = "warn"
            logger.warning(
                "job \(job.id) \(running.label) not started by worker \(worker.pid) within its timeout of \(job.timeout) ms; still waiting (warn)",
                metadata: metadata)
            return
        }
        running.timeoutState = .killed
        let reason = "worker \(worker.pid) did not start job \(job.id) within its timeout of \(job.timeout) ms; killed"
        worker.kill(reason: reason, cause: .notStarted(ms: job.timeout))
        metadata["action"] = "kill"
        logger.warning("job \(job.id) \(running.label): \(reason)", metadata: metadata)
    }

    private func cancelGraceExpired(_ running: RunningJob, on worker: WorkerProcess) {
        guard worker.job === running, worker.state != .exited else { return }
        running.timeoutState = .killed
        let job = running.job
        let reason = "timed out after \(job.timeout) ms; worker \(worker.pid) killed after cancel grace"
        worker.kill(reason: reason, cause: .timeoutAfterCancel(ms: job.timeout, graceMs: configuration.cancelGrace))
        logger.warning(
            "job \(job.id) \(running.label) \(reason)",
            metadata: [
                "event": "job_timeout", "action": "kill_after_grace", "job_id": .int(job.id), "type": .string(running.label),
                "worker_pid": .int(worker.pid), "deadline_ms": .int(job.timeout), "elapsed_ms": .ms(running.elapsedMs()),
                "grace_ms": .int(configuration.cancelGrace),
            ])
    }
}
