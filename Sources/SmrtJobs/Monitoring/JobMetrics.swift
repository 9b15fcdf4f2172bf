import CoreMetrics
import Foundation

/// The job metrics a runner reports through swift-metrics (`TaskRunner`, and the supervisor with its worker
/// metrics), under the names the dashboard's `/metrics` uses, so an app that bootstraps a metrics backend gets
/// them from whichever runner it embeds.
///
/// Labels are bounded: a queue, a job type (`objectType`), an outcome, a worker state or an exit reason, never a
/// job id or args. Each metric object is made once per label set and kept: recording is a dictionary look-up and
/// the backend's own call, on the hot path of every job. Thread-safe.
public final class JobMetrics: Sendable {
    /// Counter `{queue, type, outcome}`: attempts finished (`FinishOutcome`).
    public static let finishedLabel = "smrt_jobs_finished_total"
    /// Timer: from the start of an attempt to its result.
    public static let durationLabel = "smrt_job_duration_seconds"
    /// Timer: from when a job was due (`max(runAt, createdAt)`) to the start of its attempt.
    public static let queueWaitLabel = "smrt_job_queue_wait_seconds"
    /// Counter `{reason}`: worker processes that ended (`WorkerExitReason`).
    public static let workerExitsLabel = "smrt_worker_exits_total"
    /// Timer: how long after a job's deadline its timeout kill came.
    public static let killLatenessLabel = "smrt_kill_lateness_seconds"
    /// Gauge `{state}`: worker processes per state (starting, idle, busy, stopping).
    public static let workersLabel = "smrt_workers"
    /// Counter: finished jobs deleted by the retention policy.
    public static let prunedLabel = "smrt_jobs_pruned_total"
    /// The worker states of `smrt_workers`.
    public static let workerStates = ["starting", "idle", "busy", "stopping"]

    private struct FinishedKey: Hashable {
        var queue: String
        var type: String
    }

    private let factory: any MetricsFactory
    private let duration: CoreMetrics.Timer
    private let queueWait: CoreMetrics.Timer
    private let killLateness: CoreMetrics.Timer
    private let pruned: Counter
    private let exits: [WorkerExitReason: Counter]
    private let workers: [String: Gauge]
    /// One counter per outcome, per (queue, type) seen so far.
    private let finished = Locked<[FinishedKey: [Counter]]>([:])

    /// - Parameter factory: where the metrics go; by default the process's bootstrapped backend
    ///   (`MetricsSystem.factory`, a no-op until the app bootstraps one).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        duration = CoreMetrics.Timer(label: Self.durationLabel, dimensions: [], factory: factory)
        queueWait = CoreMetrics.Timer(label: Self.queueWaitLabel, dimensions: [], factory: factory)
        killLateness = CoreMetrics.Timer(label: Self.killLatenessLabel, dimensions: [], factory: factory)
        pruned = Counter(label: Self.prunedLabel, dimensions: [], factory: factory)
        var exits: [WorkerExitReason: Counter] = [:]
        for reason in WorkerExitReason.allCases {
            exits[reason] = Counter(label: Self.workerExitsLabel, dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.exits = exits
        var workers: [String: Gauge] = [:]
        for state in Self.workerStates {
            workers[state] = Gauge(label: Self.workersLabel, dimensions: [("state", state)], factory: factory)
        }
        self.workers = workers
    }

    /// Counts one finished attempt of a job of `type` on `queue`.
    public func finished(queue: String, type: String, outcome: FinishOutcome) {
        let key = FinishedKey(queue: queue, type: type)
        let counters = finished.withLock { table in
            if let counters = table[key] { return counters }
            let made = FinishOutcome.allCases.map { outcome in
                Counter(
                    label: Self.finishedLabel,
                    dimensions: [("queue", queue), ("type", type), ("outcome", outcome.rawValue)], factory: factory)
            }
            table[key] = made
            return made
        }
        counters[outcome.index].increment()
    }

    public func recordDuration(seconds: Double) {
        duration.recordNanoseconds(Self.nanoseconds(seconds))
    }

    public func recordQueueWait(seconds: Double) {
        queueWait.recordNanoseconds(Self.nanoseconds(seconds))
    }

    public func recordKillLateness(seconds: Double) {
        killLateness.recordNanoseconds(Self.nanoseconds(seconds))
    }

    public func workerExited(_ reason: WorkerExitReason) {
        exits[reason]?.increment()
    }

    public func jobsPruned(_ count: Int) {
        guard count > 0 else { return }
        pruned.increment(by: Int64(count))
    }

    /// Sets `smrt_workers{state}` for every state (0 for a state not in `counts`).
    public func setWorkers(_ counts: [String: Int]) {
        for (state, gauge) in workers { gauge.record(Int64(counts[state] ?? 0)) }
    }

    /// What an attempt's `FinishResult` counts as: a job no longer ours (cancelled meanwhile, or taken back) as
    /// `cancelled`; nil for a result that could not be written.
    public static func outcome(of result: FinishResult?) -> FinishOutcome? {
        switch result {
        case .completed?: .completed
        case .retrying?: .retried
        case .failed?: .failed
        case .notOwned?: .cancelled
        case nil: nil
        }
    }

    /// Seconds from when `job` was due (`max(runAt, createdAt)`) to `start`; 0 when it started before that (a
    /// clock step).
    public static func queueWait(of job: SmrtJob, startedAt start: Date) -> Double {
        max(0, start.timeIntervalSince(max(job.runAt, job.createdAt)))
    }

    static func nanoseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return seconds >= Double(Int64.max) / 1e9 ? .max : Int64((seconds * 1e9).rounded())
    }
}

extension FinishOutcome {
    /// The position in `allCases`.
    fileprivate var index: Int {
        switch self {
        case .completed: 0
        case .failed: 1
        case .retried: 2
        case .cancelled: 3
        }
    }
}
