import Foundation
import Logging
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lease in `_smrt_workers`, its renewal, self-fencing, the workers' keepalives, and taking back the jobs of
/// dead supervisors.
///
/// Each renewal writes the lease's own expiry (now + `leaseTTL`); others judge it by that. A supervisor is dead
/// when its lease has expired, or, on this host, at once when its pid is gone; an owner with running jobs and
/// no lease row at once. Its running jobs are failed as their owner would have done (the attempt counts) and
/// retried under their own strategy. Each heartbeat checks, so expired leases are taken back within one
/// heartbeat period (at most a third of the TTL) of expiring. What this supervisor may do under its own lease
/// is `LeaseGuard`'s judgement.
extension Supervisor {
    /// One dead owner, why it was judged dead (for the log line), and what was done with its jobs.
    struct Recovery {
        var ownerId: String
        var why: String
        var jobs: [RecoveredJob]
    }

    func registerLease() {
        let record = leaseRecord()
        database.perform(retryOnBusy: true, { context in try context.store.registerWorker(record) }) { [self] result in
            switch result {
            case .success:
                leaseRenewed(record)
            case .failure(let error):
                logger.error("cannot register lease \(leaseId): \(error)", metadata: ["event": "lease_failed"])
            }
        }
    }

    /// The lease row as of now, with the snapshot of the supervisor it publishes (Supervisor+Metrics.swift).
    func leaseRecord() -> WorkerRecord {
        let now = clock.now()
        return WorkerRecord(
            id: leaseId, pid: getpid(), host: host, startedAt: startedAt, heartbeat: now,
            expiresAt: now.addingTimeInterval(lease.ttl), stats: snapshot())
    }

    /// A write of our lease row succeeded: it holds until the expiry the row says.
    private func leaseRenewed(_ record: WorkerRecord) {
        let wasHeld = lease.isHeld(at: clock.latestNow())
        lease.renewed(expiresAt: record.expiresAt ?? record.heartbeat)
        guard !wasHeld, lease.isHeld(at: clock.latestNow()) else { return }
        if fenced {
            fenced = false
            logger.warning("lease \(leaseId) renewed; taking jobs again", metadata: ["event": "lease_regained"])
        }
        feedWatchdogs()
        maybeClaim()
    }

    /// Whether the lease is held now; when it is not, fences first (kills the busy workers, releases held jobs).
    func holdsLease() -> Bool {
        if lease.isHeld(at: clock.latestNow()) { return true }
        // Before the first registration has answered nothing was claimed under the lease: nothing to fence.
        if lease.wasEverHeld { fence() }
        return false
    }

    /// The lease is no longer held (not renewed in time, or the supervisor was stopped past its expiry): kill
    /// every busy worker before another supervisor can take its job over, and start nothing until a renewal
    /// succeeds.
    func fence() {
        guard !fenced, phase == .running || phase == .draining else { return }
        fenced = true
        let busy = pool?.busyWorkers ?? []
        let expired = Int((clock.now().timeIntervalSince(lease.expiresAt) * 1000).rounded())
        let when = expired >= 0 ? "expired \(expired) ms ago" : "expires in \(-expired) ms"
        logger.error(
            "lease \(leaseId) not renewed in time (it \(when)); killing \(busy.count) busy worker(s) so no job runs twice",
            metadata: ["event": "lease_lost", "lease_id": .string(leaseId), "running_jobs": .int(busy.count)])
        for worker in busy {
            worker.kill(
                reason: "lease \(leaseId) could not be renewed in time; worker \(worker.pid) killed so the job cannot run twice",
                cause: .leaseLost)
        }
        releaseHeldJobs(olderThanMs: nil, reason: "lease not renewed in time")
    }

    /// Sends KEEPALIVE to every worker that understands it, if the lease allows; fences when it is not held.
    func feedWatchdogs() {
        guard phase == .running || phase == .draining, let pool else { return }
        guard holdsLease(), lease.mayFeedWatchdogs(at: clock.latestNow()) else { return }
        for worker in pool.workers where worker.state == .running { worker.feedWatchdog(milliseconds: lease.watchdogMs) }
    }

    /// Says at start when this host's clock is more than a second off the database's (the supervisor goes by the
    /// database's; other programs on this host may not).
    func reportClockOffset() {
        let offset = clock.offsetSeconds
        guard abs(offset) >= 1 else { return }
        let ms = Int((offset * 1000).rounded())
        logger.warning(
            "this host's clock is \(abs(ms)) ms \(ms > 0 ? "behind" : "ahead of") the database's; leases, retries and schedules go by the database's clock",
            metadata: ["event": "clock_offset", "offset_ms": .int(ms)])
    }

    /// At start: the jobs of predecessors whose process is gone come back at once.
    func recoverDeadSupervisors() {
        let selfId = leaseId, host = host, ttl = configuration.leaseTTL
        database.perform(retryOnBusy: true, { context in
            try Self.recoverDeadOwners(context, selfId: selfId, host: host, leaseTTL: ttl)
        }) { [self] result in recovered(result) }
    }

    /// Touches our lease (re-creating it if someone removed it) and our jobs, then looks for dead supervisors.
    func heartbeat(then done: @escaping () -> Void) {
        guard phase != .stopped else { return done() }
        let record = leaseRecord(), selfId = leaseId, host = host, ttl = configuration.leaseTTL
        let runningIds = pool.workers.flatMap { worker in (worker.job.map { [$0] } ?? []) + worker.queued }.map(\.id)
        database.perform({ context in
            try context.clock.synchronize(with: context.store)
            try context.store.registerWorker(record)
            // The lease is renewed from here on, whatever the rest says.
            return Result {
                try context.store.heartbeat(workerId: selfId, now: record.heartbeat)
                let recoveries = try Self.recoverDeadOwners(context, selfId: selfId, host: host, leaseTTL: ttl)
                let cancelled = try runningIds.filter { try context.store.get(id: $0)?.status == .cancelled }
                return (recoveries, cancelled)
            }
        }) { [self] (result: Result<Result<([Recovery], [Int64]), Error>, Error>) in
            done()
            if case .success = result { leaseRenewed(record) }
            let rest = result.flatMap { $0 }
            recovered(rest.map(\.0))
            if case .success(let (_, cancelled)) = rest { stopCancelledJobs(cancelled) }
        }
    }

    /// A job cancelled (`smrt-jobs cancel`) while it runs: its result would be dropped anyway, so the work is
    /// stopped rather than left to finish. Noticed at the next heartbeat. CANCEL first, as for a `fail` timeout: a
    /// job that stops answers and its worker takes the next job; one that has not answered after `--cancel-grace`
    /// is killed (at its `kill` deadline if that comes sooner). A job whose timeout already sent CANCEL or SIGKILL
    /// is left to that. A job queued behind another (protocol 4) gets CANCEL too: the worker drops it and answers
    /// without STARTED; if it had begun the job as the CANCEL crossed, the grace counts from its STARTED.
    private func stopCancelledJobs(_ ids: [Int64]) {
        guard !ids.isEmpty else { return }
        for worker in pool.workers {
            for running in (worker.job.map { [$0] } ?? []) + worker.queued {
                guard ids.contains(running.job.id), !running.cancelRequested,
                    running.timeoutState == .none || running.timeoutState == .warned
                else { continue }
                running.cancelRequested = true
                running.cancelSent = true
                worker.send(.cancel(jobId: running.job.id))
                logger.warning(
                    "job \(running.job.id) \(running.label) cancelled while \(running.started ? "running" : "waiting to start"); cancel sent to worker \(worker.pid)",
                    metadata: [
                        "event": "job_cancelled", "job_id": .int(running.job.id), "type": .string(running.label),
                        "worker_pid": .int(worker.pid), "action": "cancel", "grace_ms": .int(configuration.cancelGrace),
                    ])
                if running.started { armCancelGrace(running, on: worker) }
            }
        }
    }

    /// After CANCEL of a cancelled job that runs: kills its worker if it has not answered after the grace (or at the
    /// job's `kill` deadline, if that is sooner).
    func armCancelGrace(_ running: RunningJob, on worker: WorkerProcess) {
        var waitMs = UInt64(configuration.cancelGrace)
        if running.job.timeoutBehavior == .kill && running.timeoutState == .none {
            let now = Monotonic.nanos
            waitMs = min(waitMs, running.deadline > now ? (running.deadline - now + 999_999) / 1_000_000 : 0)
        }
        try? worker.jobTimer.start(timeoutMs: waitMs) { [unowned self, unowned worker] _ in
            cancelledJobOverstayed(running, on: worker)
        }
    }

    /// A cancelled job that did not answer CANCEL within the grace: its worker is killed.
    private func cancelledJobOverstayed(_ running: RunningJob, on worker: WorkerProcess) {
        guard worker.job === running, worker.state != .exited else { return }
        running.timeoutState = .killed
        let reason = "cancelled while running; worker \(worker.pid) killed after cancel grace"
        logger.warning(
            "job \(running.job.id) \(running.label) \(reason)",
            metadata: [
                "event": "job_cancelled", "job_id": .int(running.job.id), "type": .string(running.label),
                "worker_pid": .int(worker.pid), "action": "kill_after_grace", "grace_ms": .int(configuration.cancelGrace),
            ])
        worker.kill(reason: reason, cause: .jobCancelled)
    }

    private func recovered(_ result: Result<[Recovery], Error>) {
        switch result {
        case .failure(let error):
            logger.warning("lease heartbeat/recovery failed: \(error)", metadata: ["event": "lease_failed"])
        case .success(let recoveries):
            for recovery in recoveries {
                let retrying = recovery.jobs.filter { if case .retrying = $0.result { true } else { false } }
                logger.warning(
                    "lease recovered \(recovery.jobs.count) job(s) of supervisor \(recovery.ownerId) (\(recovery.why))",
                    metadata: [
                        "event": "lease_recovered", "lease_id": .string(recovery.ownerId), "jobs": .int(recovery.jobs.count),
                        "job_ids": .array(recovery.jobs.map { .int($0.job.id) }), "retrying": .int(retrying.count),
                        "reason": .string(recovery.why),
                    ])
                for item in recovery.jobs {
                    let job = item.job
                    var metadata: Logger.Metadata = [
                        "job_id": .int(job.id), "type": .string("\(job.objectType).\(job.method)"),
                        "attempt": .int(job.attempts), "max_attempts": .int(job.maxAttempts),
                        "error": .string(job.lastError ?? ""), "lease_id": .string(recovery.ownerId),
                    ]
                    if case .retrying(let at) = item.result {
                        wake(at: at)
                        metadata["event"] = "job_retrying"
                        metadata["outcome"] = "retrying"
                        logger.warning("job \(job.id) \(job.objectType).\(job.method) taken back; retrying", metadata: metadata)
                    } else {
                        metadata["event"] = "job_failed"
                        metadata["outcome"] = "failed"
                        logger.error("job \(job.id) \(job.objectType).\(job.method) taken back; failed", metadata: metadata)
                    }
                }
            }
            if recoveries.contains(where: { !$0.jobs.isEmpty }) { maybeClaim() }
        }
    }

    /// Database thread: takes back the jobs of dead owners (`DeadOwnerRescuer`): supervisors whose pid is gone on
    /// this host or whose lease expired anywhere (their lease rows are removed), and owners without a lease whose
    /// running jobs all stopped heartbeating for the TTL.
    static func recoverDeadOwners(
        _ context: DatabaseThread.Context, selfId: String, host: String, leaseTTL: Int
    ) throws -> [Recovery] {
        let rescuer = DeadOwnerRescuer(
            store: context.store, leaseId: selfId, host: host, leaseTTL: .milliseconds(leaseTTL),
            processExists: { Supervisor.processExists($0) }
        ) { owner, now in
            if owner.lease == nil { return "owner \(owner.id) has no lease; attempt taken back" }
            return "supervisor \(owner.id) died (\(why(owner, now: now, leaseTTL: leaseTTL))); attempt taken back"
        }
        // Expired only if it has expired even if our clock reading erred the other way (DatabaseClock).
        let now = context.clock.earliestNow()
        return try rescuer.rescue(now: now, using: &context.random).map { rescue in
            Recovery(ownerId: rescue.owner.id, why: why(rescue.owner, now: now, leaseTTL: leaseTTL), jobs: rescue.jobs)
        }
    }

    /// Why an owner was judged dead, as the log line and the stored error say it.
    private static func why(_ owner: DeadOwnerRescuer.DeadOwner, now: Date, leaseTTL: Int) -> String {
        switch owner.cause {
        case .processGone(let pid):
            return "its process \(pid) is gone"
        case .leaseExpired(let lastHeartbeat):
            return "lease expired: no heartbeat for \(Int((now.timeIntervalSince(lastHeartbeat) * 1000).rounded())) ms"
        case .noLease:
            return "its lease row is gone"
        }
    }
}
