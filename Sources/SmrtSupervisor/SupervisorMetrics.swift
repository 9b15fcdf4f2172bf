import Foundation
import SmrtJobs

/// A supervisor's counters and histograms since it started: what its lease row publishes at each heartbeat
/// (`snapshot`, a `SupervisorSnapshot`), and the same events as swift-metrics (`JobMetrics`) for an app that
/// embeds the supervisor. A value type with no processes or clocks: the supervisor feeds it events on the loop
/// thread, and it is unit-tested on its own (`SupervisorMetricsTests`).
struct SupervisorMetrics {
    struct TypeKey: Hashable {
        var queue: String
        var type: String
    }

    /// Attempts per outcome of one (queue, type), and its swift-metrics counters.
    struct TypeCounts {
        var completed = 0
        var failed = 0
        var retried = 0
        var cancelled = 0
        let export: JobMetrics.FinishedCounters

        subscript(outcome: FinishOutcome) -> Int {
            get {
                switch outcome {
                case .completed: completed
                case .failed: failed
                case .retried: retried
                case .cancelled: cancelled
                }
            }
            set {
                switch outcome {
                case .completed: completed = newValue
                case .failed: failed = newValue
                case .retried: retried = newValue
                case .cancelled: cancelled = newValue
                }
            }
        }
    }

    /// At most this many (queue, type) pairs are counted apart; attempts of further ones count under their queue
    /// and `otherType`, so the lease row stays small whatever object types jobs were enqueued with.
    static let maxTypes = 200
    static let otherType = "(other)"

    private(set) var finished: [TypeKey: TypeCounts] = [:]
    /// The last (queue, type) counted, where its entry is and its counters: attempts in a row are mostly of one
    /// type, and they then skip hashing (this runs for every job).
    private var last: (key: TypeKey, index: Dictionary<TypeKey, TypeCounts>.Index, export: JobMetrics.FinishedCounters)?
    private(set) var workerExits: [WorkerExitReason: Int] = [:]
    private(set) var jobsPruned = 0
    private(set) var jobDuration = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds)
    private(set) var queueWait = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds)
    private(set) var killLateness = HistogramSnapshot(bounds: HistogramSnapshot.latenessBounds)
    /// The same events, to swift-metrics.
    let export: JobMetrics

    init(export: JobMetrics = JobMetrics()) {
        self.export = export
    }

    /// An attempt of `job` started (its RUN was sent) at `start`: its queue wait.
    mutating func attemptStarted(_ job: SmrtJob, at start: Date) {
        let wait = JobMetrics.queueWait(of: job, startedAt: start)
        queueWait.record(wait)
        export.recordQueueWait(seconds: wait)
    }

    /// An attempt ended (a result, or its worker's death) after `seconds`.
    mutating func attemptEnded(durationSeconds seconds: Double) {
        let seconds = max(0, seconds)
        jobDuration.record(seconds)
        export.recordDuration(seconds: seconds)
    }

    /// The database recorded a finished attempt of a job of `type` on `queue` with `result` (nil: it could not be
    /// written; not counted).
    mutating func attemptRecorded(queue: String, type: String, result: FinishResult?) {
        guard let outcome = JobMetrics.outcome(of: result) else { return }
        if last == nil || last!.key.type != type || last!.key.queue != queue {
            let index = entry(queue: queue, type: type)
            last = (TypeKey(queue: queue, type: type), index, finished.values[index].export)
        }
        finished.values[last!.index][outcome] += 1
        last!.export.increment(outcome)
    }

    /// The entry of (`queue`, `type`), made on first use; past `maxTypes` entries, new types share `otherType`.
    private mutating func entry(queue: String, type: String) -> Dictionary<TypeKey, TypeCounts>.Index {
        var key = TypeKey(queue: queue, type: type)
        if let index = finished.index(forKey: key) { return index }
        if finished.count >= Self.maxTypes {
            key.type = Self.otherType
            if let index = finished.index(forKey: key) { return index }
        }
        finished[key] = TypeCounts(export: export.finishedCounters(queue: key.queue, type: key.type))
        return finished.index(forKey: key)!
    }

    mutating func workerExited(_ reason: WorkerExitReason) {
        workerExits[reason, default: 0] += 1
        export.workerExited(reason)
    }

    /// A timeout kill came `seconds` after the job's deadline.
    mutating func killed(latenessSeconds seconds: Double) {
        let seconds = max(0, seconds)
        killLateness.record(seconds)
        export.recordKillLateness(seconds: seconds)
    }

    mutating func pruned(_ count: Int) {
        guard count > 0 else { return }
        jobsPruned += count
        export.jobsPruned(count)
    }

    /// What the lease row publishes; also sets the `smrt_workers{state}` gauges from `workers`.
    func snapshot(takenAt: Date, configuredWorkers: Int, queues: [String]?, workers: [WorkerSnapshot]) -> SupervisorSnapshot {
        var states: [String: Int] = [:]
        for worker in workers { states[worker.state, default: 0] += 1 }
        export.setWorkers(states)
        let counts = finished.flatMap { key, counts in
            FinishOutcome.allCases.filter { counts[$0] > 0 }.map {
                FinishedCount(queue: key.queue, type: key.type, outcome: $0, count: counts[$0])
            }
        }.sorted { ($0.queue, $0.type, $0.outcome.rawValue) < ($1.queue, $1.type, $1.outcome.rawValue) }
        return SupervisorSnapshot(
            takenAt: takenAt, configuredWorkers: configuredWorkers, queues: queues, workers: workers, finished: counts,
            workerExits: Dictionary(uniqueKeysWithValues: workerExits.map { ($0.key.rawValue, $0.value) }),
            jobsPruned: jobsPruned, jobDuration: jobDuration, queueWait: queueWait, killLateness: killLateness)
    }
}
