import Foundation

/// Running one attempt: invoking the method, enforcing its timeout, and writing the outcome.
extension TaskRunner {
    func execute(_ job: SmrtJob, attempt: AttemptState) async {
        let start = ContinuousClock.now
        metrics.recordQueueWait(seconds: JobMetrics.queueWait(of: job, startedAt: clock()))
        emit(.jobStarted(job))
        let registry = self.registry
        let work = Task { try await registry.invoke(Invocation(job: job)) }
        let deadline = Task {
            do {
                try await Task.sleep(for: .milliseconds(job.timeout))
            } catch {
                return
            }
            await self.deadlinePassed(job, attempt: attempt, work: work, start: start)
        }
        let result = await withTaskCancellationHandler {
            await work.result
        } onCancel: {
            work.cancel()
        }
        // A timeout report may be being written right now: let it finish (uninterrupted) before the slot frees.
        if !attempt.isSettled { deadline.cancel() }
        await deadline.value
        guard attempt.settle() else { return }
        metrics.recordDuration(seconds: (ContinuousClock.now - start).timeInterval)
        switch result {
        case .success(let value):
            await complete(job, result: value)
        case .failure(let error):
            await failAttempt(job, error: Self.message(for: error), final: error is JobExecutionError)
        }
    }

    private func deadlinePassed(
        _ job: SmrtJob, attempt: AttemptState, work: Task<JSONValue?, Error>, start: ContinuousClock.Instant
    ) async {
        switch job.timeoutBehavior {
        case .warn:
            guard !attempt.isSettled else { return }
            let message = "passed its timeout of \(job.timeout) ms; running on"
            logger.warning("job \(job.id) \(job.description) \(message)")
            emit(.jobTimeout(job, behavior: .warn, timeoutMs: job.timeout, message: message))
        case .fail, .kill:
            guard attempt.settle() else { return }
            work.cancel()
            metrics.recordDuration(seconds: (ContinuousClock.now - start).timeInterval)
            let message = job.timeoutBehavior == .kill
                ? "timed out after \(job.timeout) ms; kill needs smrt-supervisor to end a process, so the task was cancelled as for fail"
                : "timed out after \(job.timeout) ms; task cancelled"
            logger.warning("job \(job.id) \(job.description) \(message)")
            emit(.jobTimeout(job, behavior: job.timeoutBehavior, timeoutMs: job.timeout, message: message))
            await failAttempt(job, error: "timed out after \(job.timeout) ms", final: false)
        }
    }

    private func complete(_ job: SmrtJob, result: JSONValue?) async {
        let report = AttemptReport(jobId: job.id, outcome: .completed(result: result, resultPointer: nil))
        guard let outcome = await write(report, job: job) else { return }
        switch outcome {
        case .completed:
            var finished = job
            finished.status = .completed
            finished.result = result
            emit(.jobCompleted(finished, result: result))
        default:
            logNotOwned(job, outcome)
        }
    }

    /// `final` skips the retry strategy: the error would recur on every attempt.
    private func failAttempt(_ job: SmrtJob, error: String, final: Bool) async {
        let now = clock()
        let retryAt = final ? nil : nextRunAt(for: job, now: now)
        let report = AttemptReport(jobId: job.id, outcome: .failed(error: error, retryAt: retryAt))
        guard let outcome = await write(report, job: job, now: now) else { return }
        var finished = job
        finished.lastError = error
        switch outcome {
        case .retrying(let at):
            finished.status = .pending
            finished.runAt = at
            let delayMs = max(0, Int(((retryAt ?? at).timeIntervalSince(now) * 1000).rounded()))
            logger.info("job \(job.id) \(job.description) failed attempt \(job.attempts): \(error); retrying in \(delayMs) ms")
            emit(.jobRetrying(finished, error: error, delayMs: delayMs))
        case .failed:
            finished.status = .failed
            logger.warning("job \(job.id) \(job.description) failed: \(error)")
            emit(.jobFailed(finished, error: error))
        default:
            logNotOwned(job, outcome)
        }
    }

    /// Writes a terminal report, trying again briefly when the store is busy. nil when it could not be
    /// written: the job stays running under this runner until recovery takes it back.
    private func write(_ report: AttemptReport, job: SmrtJob, now: Date? = nil) async -> FinishResult? {
        let tries = 3
        for tryNumber in 1...tries {
            do {
                let (workerId, at) = (self.workerId, tryNumber == 1 ? now ?? clock() : clock())
                let result = try await withStore { try $0.finish([report], workerId: workerId, now: at)[0] }
                if let outcome = JobMetrics.outcome(of: result) {
                    metrics.finished(queue: job.queue, type: job.objectType, outcome: outcome)
                }
                return result
            } catch {
                if tryNumber == tries {
                    reportError("could not record the outcome of job \(job.id): \(error)")
                    return nil
                }
                try? await Task.sleep(for: .milliseconds(50 * tryNumber))
            }
        }
        return nil
    }

    private func logNotOwned(_ job: SmrtJob, _ outcome: FinishResult) {
        logger.info("job \(job.id) \(job.description) was cancelled or taken back meanwhile (\(outcome)); outcome discarded")
    }

    /// When to retry a job whose attempt just failed, under its strategy; nil to fail it for good.
    func nextRunAt(for job: SmrtJob, now: Date) -> Date? {
        random.withLock { rng in job.retryStrategy.nextRunAt(after: job, now: now, using: &rng) }
    }

    static func message(for error: Error) -> String {
        if error is CancellationError { return "cancelled" }
        // Stored as last_error and logged: no values of secret-looking keys (`password=...`).
        return ArgumentRedaction.redact(text: String(describing: error))
    }
}
