import Foundation

/// The lease: heartbeats for this runner, and taking back the jobs of owners whose lease expired.
///
/// One scheme for every owner: a live owner has a row in the workers table, touched every heartbeat. An owner
/// is dead when its row is older than `leaseTTL`; its running jobs are recovered with
/// `recoverJobs(ownedBy:)` and its row removed. Owners that keep no row at all (older runners) are judged by
/// their jobs' `workerHeartbeat` instead, with the same `leaseTTL`. Recovered jobs are retried under their
/// strategy, and the lost attempt counts.
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

    /// Takes back the running jobs of owners whose lease expired before `now - leaseTTL`.
    func recoverDeadOwners(now: Date) {
        let cutoff = now.addingTimeInterval(-options.leaseTTL.timeInterval)
        do {
            let workers = try store.listWorkers()
            if !workers.contains(where: { $0.id == workerId }) {
                // Someone judged this runner dead (it missed heartbeats) and removed its row: its jobs then were
                // taken back, and its late reports are refused. Lease again for the jobs it claims from now on.
                logger.warning("lease row was removed by another process; registering again")
                try store.registerWorker(
                    WorkerRecord(id: workerId, pid: getpid(), host: ProcessInfo.processInfo.hostName, startedAt: now, heartbeat: now))
            }
            let leased = Set(workers.map(\.id)).union([workerId])
            var dead: [(id: String, reason: String, removeRow: Bool)] = workers
                .filter { $0.id != workerId && $0.heartbeat < cutoff }
                .map { ($0.id, "worker \($0.id) lease expired (last heartbeat \(Timestamp.format($0.heartbeat)))", true) }
            for owner in try unleasedOwners(staleBefore: cutoff, leased: leased) {
                dead.append((owner, "worker \(owner) stopped heartbeating (no lease row)", false))
            }
            for owner in dead {
                let recovered = try store.recoverJobs(ownedBy: [owner.id], reason: owner.reason, now: now) { job in
                    nextRunAt(for: job, now: now)
                }
                if owner.removeRow { try store.removeWorker(id: owner.id) }
                for item in recovered {
                    logger.warning("recovered job \(item.job.id) \(item.job.description) of dead \(owner.id): \(item.result)")
                    emit(.jobRecovered(item.job, result: item.result))
                }
            }
        } catch {
            reportError("recovery failed: \(error)")
        }
    }

    /// Owners of running jobs that have no lease row, when every one of their jobs' heartbeats is stale.
    private func unleasedOwners(staleBefore cutoff: Date, leased: Set<String>) throws -> [String] {
        var fresh: Set<String> = []
        var stale: Set<String> = []
        let page = 500
        var offset = 0
        while true {
            let running = try store.list(JobQuery(status: .running, limit: page, offset: offset))
            for job in running {
                guard let owner = job.workerId, !leased.contains(owner) else { continue }
                if let heartbeat = job.workerHeartbeat, heartbeat >= cutoff {
                    fresh.insert(owner)
                } else {
                    stale.insert(owner)
                }
            }
            if running.count < page { break }
            offset += page
        }
        return stale.subtracting(fresh).sorted()
    }
}
