import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-job CPU limit (`--worker-cpu-limit`): RLIMIT_CPU re-armed before each job where the supervisor may
/// move a worker's limits, else its own watch of the worker's CPU clock (see `WorkerLimits`).
extension WorkerPool {
    /// The shortest pause between two looks at a job's CPU time: how far past its budget a watched job can get
    /// is at most this times the number of cores.
    static let cpuCheckMinimumMs: UInt64 = 10
    /// After SIGXCPU, a worker that lives on gets another one every second, as the kernel does past a soft limit.
    static let cpuSignalRepeatMs: UInt64 = 1000

    /// Before each RUN (`worker.job` is set): the job gets `--worker-cpu-limit` seconds of CPU from now on.
    func limitCPU(of worker: WorkerProcess) {
        switch limits.cpuEnforcement {
        case .none:
            return
        case .rlimit:
            // Once per worker: the cause (an LSM refusing prlimit) would be the same for every job.
            if let failure = limits.rearmCPULimit(pid: worker.pid), !worker.cpuLimitFailureLogged {
                worker.cpuLimitFailureLogged = true
                logger.warning(
                    "cannot re-arm the CPU limit of worker \(worker.pid) (\(failure)); its jobs share what is left",
                    metadata: ["event": "cpu_limit_failed", "worker_pid": .int(worker.pid), "error": .string(failure)])
            }
        case .watch:
            guard let running = worker.job, let seconds = limits.cpuSeconds,
                let used = ProcessStats.cpuNanos(pid: worker.pid)
            else { return }
            let budget = UInt64(seconds) * 1_000_000_000
            watchCPU(of: worker, running: running, until: used + budget, remaining: budget)
        }
    }

    /// Looks again when the job could have used up its budget at the soonest: with every core busy.
    private func watchCPU(of worker: WorkerProcess, running: RunningJob, until end: UInt64, remaining: UInt64) {
        let cores = UInt64(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let waitMs = max(Self.cpuCheckMinimumMs, remaining / cores / 1_000_000)
        try? worker.cpuTimer.start(timeoutMs: waitMs) { [unowned self, unowned worker] _ in
            guard worker.job === running, worker.state != .exited, let used = ProcessStats.cpuNanos(pid: worker.pid)
            else { return }
            if used < end {
                watchCPU(of: worker, running: running, until: end, remaining: end - used)
            } else {
                cpuBudgetSpent(by: worker, running: running)
            }
        }
    }

    private func cpuBudgetSpent(by worker: WorkerProcess, running: RunningJob) {
        guard worker.job === running, worker.state != .exited else { return }
        let seconds = limits.cpuSeconds ?? 0
        logger.warning(
            "job \(running.id) \(running.label) used its CPU limit of \(seconds) s; SIGXCPU to worker \(worker.pid)",
            metadata: [
                "event": "job_cpu_limit", "job_id": .int(running.id), "type": .string(running.label),
                "worker_pid": .int(worker.pid), "cpu_limit_s": .int(seconds),
            ])
        worker.signal(SIGXCPU)
        try? worker.cpuTimer.start(timeoutMs: Self.cpuSignalRepeatMs) { [unowned self, unowned worker] _ in
            cpuBudgetSpent(by: worker, running: running)
        }
    }
}
