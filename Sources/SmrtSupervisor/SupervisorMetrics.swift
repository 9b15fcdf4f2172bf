import Foundation
import SmrtJobs

/// A supervisor's counters and histograms since it started: what its lease row publishes at each heartbeat
/// (`snapshot`, a `SupervisorSnapshot`), and the same events as swift-metrics (`JobMetrics`) for an app that
/// embeds the supervisor. A value type with no processes or clocks: the supervisor feeds it events on the loop
/// thread, and it is unit-tested on its own (`SupervisorMetricsTests`).
struct SupervisorMetrics {
    struct FinishedKey: Hashable {
        var queue: String
        var type: String
        var outcome: FinishOutcome
    }

    /// At most this many (queue, type) pairs are counted apart; attempts of further ones count under their queue
    /// and `otherType`, so the lease row stays small whatever object types jobs were enqueued with.
    static let maxTypes = 200
    static let otherType = "(other)"

    private(set) var finished: [FinishedKey: Int] = [:]
    private var knownTypes: Set<[String]> = []
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

    /// The database recorded a finished attempt of `job` with `result` (nil: it could not be written; not counted).
    mutating func attemptRecorded(_ job: SmrtJob, result: FinishResult?) {
        guard let outcome = JobMetrics.outcome(of: result) else { return }
        var key = FinishedKey(queue: job.queue, type: job.objectType, outcome: outcome)
        if let index = finished.index(forKey: key) {
            finished.values[index] += 1
        } else {
            let pair = [key.queue, key.type]
            if !knownTypes.contains(pair) {
                if knownTypes.count < Self.maxTypes { knownTypes.insert(pair) } else { key.type = Self.otherType }
            }
            finished[key, default: 0] += 1
        }
        export.finished(queue: key.queue, type: key.type, outcome: outcome)
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
        let counts = finished.map { key, count in
            FinishedCount(queue: key.queue, type: key.type, outcome: key.outcome, count: count)
        }.sorted { ($0.queue, $0.type, $0.outcome.rawValue) < ($1.queue, $1.type, $1.outcome.rawValue) }
        return SupervisorSnapshot(
            takenAt: takenAt, configuredWorkers: configuredWorkers, queues: queues, workers: workers, finished: counts,
            workerExits: Dictionary(uniqueKeysWithValues: workerExits.map { ($0.key.rawValue, $0.value) }),
            jobsPruned: jobsPruned, jobDuration: jobDuration, queueWait: queueWait, killLateness: killLateness)
    }
}
