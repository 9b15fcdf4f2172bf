import Foundation

/// The lease: renewals for this runner, and taking back the jobs of owners whose lease expired.
///
/// One scheme for every owner (`DeadOwnerRescuer`, shared with the supervisor): a live owner has a row in the
/// workers table, renewed every heartbeat with its own expiry (now + `leaseTTL`). An owner is dead when its
/// lease has expired, or when it has running jobs and no row; its running jobs are recovered and its row
/// removed. Recovered jobs are retried under their strategy, and the lost attempt counts. The runner claims
/// nothing while its own lease is not safely held (less than a twelfth of the TTL left).
extension TaskRunner {
    func leaseLoop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.heartbeatInterval)
            } catch {
                return
            }
            let now = clock()
            let expiresAt = now.addingTimeInterval(options.leaseTTL.timeInterval)
            do {
                try store.heartbeatWorker(id: workerId, now: now, expiresAt: expiresAt)
                try store.heartbeat(workerId: workerId, now: now)
            } catch {
                reportError("heartbeat failed: \(error)")
                continue
            }
            // Renewed only if the row was still there (or is written again here).
            if recoverDeadOwners(now: now) { leaseRenewed(until: expiresAt) }
        }
    }

    /// The lease row this runner writes at `now`.
    func leaseRecord(now: Date) -> WorkerRecord {
        WorkerRecord(
            id: workerId, pid: getpid(), host: ProcessInfo.processInfo.hostName, startedAt: now, heartbeat: now,
            expiresAt: now.addingTimeInterval(options.leaseTTL.timeInterval))
    }

    func leaseRenewed(until expiresAt: Date?) {
        guard let expiresAt else { return }
        let wasHeld = holdsLease(at: clock())
        state.withLock { $0.leaseExpiresAt = max($0.leaseExpiresAt, expiresAt) }
        // The claim loop skipped its claims while the lease was in doubt: claim now, not at the next poll.
        if !wasHeld { waker.signal() }
    }

    /// Whether the lease holds at `now` with a twelfth of the TTL to spare.
    func holdsLease(at now: Date) -> Bool {
        let margin = options.leaseTTL.timeInterval / 12
        return now.addingTimeInterval(margin) < state.withLock { $0.leaseExpiresAt }
    }

    /// Takes back the running jobs of dead owners (`DeadOwnerRescuer`). Returns whether this runner's own lease
    /// row was there or is written again (false when the store failed).
    @discardableResult
    func recoverDeadOwners(now: Date) -> Bool {
        var leased = false
        do {
            if try !store.listWorkers().contains(where: { $0.id == workerId }) {
                // Someone judged this runner dead (it missed heartbeats) and removed its row: its jobs then were
                // taken back, and its late reports are refused. Lease again for the jobs it claims from now on.
                logger.warning("lease row was removed by another process; registering again")
                try store.registerWorker(leaseRecord(now: now))
            }
            leased = true
            var random = SharedRandom(shared: self.random)
            for rescue in try rescuer.rescue(now: now, using: &random) {
                for item in rescue.jobs {
                    logger.warning("recovered job \(item.job.id) \(item.job.description) of dead \(rescue.owner.id): \(item.result)")
                    emit(.jobRecovered(item.job, result: item.result))
                }
            }
        } catch {
            reportError("recovery failed: \(error)")
        }
        return leased
    }

    /// The rescuer of this runner, with its reasons as the runner words them.
    var rescuer: DeadOwnerRescuer {
        DeadOwnerRescuer(
            store: store, leaseId: workerId, host: ProcessInfo.processInfo.hostName, leaseTTL: options.leaseTTL
        ) { owner, _ in
            switch owner.cause {
            case .leaseExpired(let lastHeartbeat):
                return "worker \(owner.id) lease expired (last heartbeat \(Timestamp.format(lastHeartbeat)))"
            case .processGone(let pid):
                return "worker \(owner.id) is gone (process \(pid))"
            case .noLease:
                return "worker \(owner.id) has no lease row"
            }
        }
    }
}

/// Draws from the runner's generator one number at a time, so a rescue does not hold its lock across store calls.
private struct SharedRandom: RandomNumberGenerator {
    let shared: Locked<AnyRandomNumberGenerator>

    mutating func next() -> UInt64 { shared.withLock { $0.next() } }
}
