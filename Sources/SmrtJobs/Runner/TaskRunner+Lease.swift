import Foundation

/// The lease: heartbeats for this runner, and taking back the jobs of owners whose lease expired.
///
/// One scheme for every owner (`DeadOwnerRescuer`, shared with the supervisor): a live owner has a row in the
/// workers table, touched every heartbeat. An owner is dead when its row is older than `leaseTTL`; its running
/// jobs are recovered and its row removed. Owners that keep no row at all (older runners) are judged by their
/// jobs' `workerHeartbeat` instead, with the same `leaseTTL`. Recovered jobs are retried under their strategy,
/// and the lost attempt counts.
extension TaskRunner {
    func leaseLoop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.heartbeatInterval)
            } catch {
                return
            }
            let now = clock()
            do {
                try store.heartbeatWorker(id: workerId, now: now)
                try store.heartbeat(workerId: workerId, now: now)
            } catch {
                reportError("heartbeat failed: \(error)")
            }
            recoverDeadOwners(now: now)
        }
    }

    /// Takes back the running jobs of dead owners (`DeadOwnerRescuer`, judging leases by their TTL alone).
    func recoverDeadOwners(now: Date) {
        do {
            if try !store.listWorkers().contains(where: { $0.id == workerId }) {
                // Someone judged this runner dead (it missed heartbeats) and removed its row: its jobs then were
                // taken back, and its late reports are refused. Lease again for the jobs it claims from now on.
                logger.warning("lease row was removed by another process; registering again")
                try store.registerWorker(
                    WorkerRecord(id: workerId, pid: getpid(), host: ProcessInfo.processInfo.hostName, startedAt: now, heartbeat: now))
            }
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
                return "worker \(owner.id) stopped heartbeating (no lease row)"
            }
        }
    }
}

/// Draws from the runner's generator one number at a time, so a rescue does not hold its lock across store calls.
private struct SharedRandom: RandomNumberGenerator {
    let shared: Locked<AnyRandomNumberGenerator>

    mutating func next() -> UInt64 { shared.withLock { $0.next() } }
}
