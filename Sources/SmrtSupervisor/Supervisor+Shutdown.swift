import Foundation
import Logging
import SmrtJobs

/// Stopping: graceful (TERM/INT) lets running jobs finish up to the shutdown timeout, then kills their workers
/// and releases their jobs (the attempt does not count); immediate (QUIT, a second TERM) does that at once.
/// Either way the supervisor then drains the database thread, removes its lease, closes every handle and
/// `run()` returns 0.
extension Supervisor {
    func stopGracefully() {
        guard phase == .running else { return }
        phase = .draining
        let busy = pool?.busyWorkers.count ?? 0
        logger.info(
            "supervisor stopping: waiting up to \(configuration.shutdownTimeout) ms for \(busy) running job(s)",
            metadata: ["event": "supervisor_stopping", "mode": "graceful", "running_jobs": .int(busy)])
        stopIntake()
        pool?.shutdown(immediate: false)
        try? shutdownTimer?.start(timeoutMs: UInt64(configuration.shutdownTimeout)) { [unowned self] _ in
            let left = pool.busyWorkers.count
            logger.warning(
                "shutdown timeout: killing \(left) busy worker(s); their jobs go back to pending",
                metadata: ["event": "shutdown_timeout", "running_jobs": .int(left)])
            pool.killBusyWorkers()
        }
        checkShutdownProgress()
    }

    func stopNow() {
        guard phase == .running || phase == .draining else { return }
        phase = .stopping
        let busy = pool?.busyWorkers.count ?? 0
        logger.info(
            "supervisor stopping now: killing workers, \(busy) running job(s) go back to pending",
            metadata: ["event": "supervisor_stopping", "mode": "immediate", "running_jobs": .int(busy)])
        stopIntake()
        shutdownTimer?.stop()
        pool?.shutdown(immediate: true)
        checkShutdownProgress()
    }

    /// No more claims, schedule fires or wake-ups.
    private func stopIntake() {
        pollTimer?.stop()
        scheduleChecks?.stop()
        wakeupTimer?.stop()
        healthChecks?.stop()
        retentionChecks?.stop()
        // A claim not yet handed to the database thread is dropped; held jobs go back, attempt uncounted.
        let held = planner.stop()
        if !held.isEmpty { release(held, reason: "supervisor stopping") }
    }

    /// Once every worker is gone and no claim is in flight: remove the lease, let the database thread finish
    /// what is queued (results, releases), then close everything so the loop ends.
    func checkShutdownProgress() {
        guard phase == .draining || phase == .stopping, !teardownStarted, planner.inFlightClaims == 0,
            pool?.isEmpty ?? true
        else { return }
        teardownStarted = true
        flushToDatabase()
        shutdownTimer?.stop()
        heartbeats?.stop()
        let id = leaseId
        database.perform(retryOnBusy: true, { context in try context.store.removeWorker(id: id) })
        database.stop { [self] in
            phase = .stopped
            closeHandles()
            logger.info("supervisor stopped", metadata: ["event": "supervisor_stopped"])
        }
    }

    private func closeHandles() {
        for timer in [pollTimer, wakeupTimer, shutdownTimer, keepaliveTimer, progressTimer] as [UVTimer?] { timer?.close() }
        for task in [heartbeats, scheduleChecks, healthChecks, retentionChecks] as [PeriodicTask?] { task?.close() }
        flushCheck?.close()
        changeSignal?.stop()
        for watcher in signalWatchers { watcher.close() }
        pool?.close()
        mailbox.close()
    }
}
