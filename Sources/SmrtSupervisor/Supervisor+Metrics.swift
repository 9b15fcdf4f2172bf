import Foundation
import SmrtJobs

/// What the supervisor publishes about itself: a `SupervisorSnapshot` of its workers and of its counters
/// (`SupervisorMetrics`), taken on the loop thread and written into its lease row by each heartbeat's
/// `registerWorker`, so a dashboard on any host sees every supervisor.
extension Supervisor {
    func snapshot() -> SupervisorSnapshot {
        let now = clock.now()
        let nanos = Monotonic.nanos
        let workers = (pool?.workers ?? []).filter { $0.state != .exited }.map { worker in
            WorkerSnapshot(
                pid: worker.pid, state: Self.state(of: worker), rssBytes: ProcessStats.residentBytes(pid: worker.pid),
                jobId: worker.job?.id, jobLabel: worker.job.map { "\($0.label)()" },
                jobStartedAt: worker.job?.startedWall, jobsDone: worker.jobsDone,
                startedAt: now.addingTimeInterval(-Double(nanos &- worker.spawnedAt) / 1e9))
        }
        return metrics.snapshot(
            takenAt: now, configuredWorkers: pool?.target ?? configuration.workers, queues: configuration.queues,
            workers: workers)
    }

    /// starting, busy, stopping or idle.
    static func state(of worker: WorkerProcess) -> String {
        if worker.state == .starting { return "starting" }
        if worker.job != nil { return "busy" }
        if worker.isLeaving { return "stopping" }
        return "idle"
    }
}
