import Foundation
import Prometheus
import SmrtJobs

/// `/metrics`: the cluster's figures in one long-lived `PrometheusCollectorRegistry`, updated from each overview
/// snapshot the cache reads, and written by the library (never formatted here).
///
/// - From the database: `smrt_jobs{queue,status}`, `smrt_queue_oldest_ready_seconds{queue}`,
///   `smrt_schedule_last_success_timestamp_seconds{schedule}`, `smrt_supervisors` (gauges).
/// - From each live supervisor's snapshot, labelled `supervisor` (its lease id): counters set to the snapshot's
///   totals, histograms fed with the observations each snapshot added since the previous one
///   (`HistogramReplay`), so bucket counts, count and sum are the supervisor's own. A supervisor that is gone
///   (lease expired or removed) loses its series.
final class ClusterMetrics: Sendable {
    private struct SupervisorSeries {
        var counters: [String: Counter] = [:]
        var gauges: [String: Gauge] = [:]
        var histograms: [String: ValueHistogram] = [:]
        var lastHistograms: [String: HistogramSnapshot] = [:]
    }

    private struct State {
        var applied: Date?
        var jobs: [String: Gauge] = [:]
        var oldest: [String: Gauge] = [:]
        var lastSuccess: [Int64: (gauge: Gauge, value: Double)] = [:]
        var supervisors: Gauge?
        var series: [String: SupervisorSeries] = [:]
    }

    let registry = PrometheusCollectorRegistry()
    private let state = Locked(State())

    static var jobs: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "smrt_jobs", unitName: "", helpText: "Jobs per queue and status.")
    }
    static var oldestReady: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_queue_oldest_ready", unitName: "seconds", helpText: "Age of the oldest job ready to run, per queue.")
    }
    static var lastSuccess: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_schedule_last_success_timestamp", unitName: "seconds",
            helpText: "When each schedule's last successful run ended (Unix time).")
    }
    static var supervisors: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_supervisors", unitName: "", helpText: "Supervisors whose lease holds.")
    }
    static var finished: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_jobs_finished", unitName: "total", helpText: "Attempts finished, per supervisor, queue, type and outcome.")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_job_duration", unitName: "seconds", helpText: "Seconds from the start of an attempt to its result.")
    }
    static var queueWait: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_job_queue_wait", unitName: "seconds", helpText: "Seconds from when a job was due to when its attempt started.")
    }
    static var killLateness: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_kill_lateness", unitName: "seconds", helpText: "Seconds a timeout kill came after the job's deadline.")
    }
    static var workerExits: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_worker_exits", unitName: "total", helpText: "Worker processes that ended, per reason.")
    }
    static var workers: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_workers", unitName: "", helpText: "Worker processes per state.")
    }
    static var pruned: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "smrt_jobs_pruned", unitName: "total", helpText: "Jobs deleted by the retention policy.")
    }

    /// The worker states a snapshot names; each is exported (0 when none), so a state that empties reads 0.
    static let workerStates = ["starting", "idle", "busy", "stopping"]

    /// Brings the series up to `snapshot` (the overview cache calls it after each refresh, off the request
    /// path: replaying a histogram costs one `record` per new observation).
    func apply(_ snapshot: OverviewSnapshot) {
        state.withLock { s in
            guard s.applied != snapshot.takenAt else { return }
            apply(snapshot, &s)
            s.applied = snapshot.takenAt
        }
    }

    /// The Prometheus text of every series.
    func render() -> [UInt8] {
        // Under the lock the updates take, so a scrape never sees a counter between its reset and increment.
        state.withLock { _ in registry.emitToBuffer() }
    }

    private func apply(_ snapshot: OverviewSnapshot, _ s: inout State) {
        var jobKeys: Set<String> = []
        var oldestKeys: Set<String> = []
        for queue in snapshot.queues {
            let counts: [(JobStatus, Int)] = [
                (.pending, queue.counts.pending), (.running, queue.counts.running), (.completed, queue.counts.completed),
                (.failed, queue.counts.failed), (.cancelled, queue.counts.cancelled),
            ]
            for (status, count) in counts {
                let key = "\(queue.name)\u{0}\(status.rawValue)"
                jobKeys.insert(key)
                let gauge = s.jobs[key] ?? registry.makeGauge(descriptor: Self.jobs, labels: [("queue", queue.name), ("status", status.rawValue)])
                s.jobs[key] = gauge
                gauge.set(Double(count))
            }
            oldestKeys.insert(queue.name)
            let gauge = s.oldest[queue.name] ?? registry.makeGauge(descriptor: Self.oldestReady, labels: [("queue", queue.name)])
            s.oldest[queue.name] = gauge
            gauge.set(queue.oldestReadyRunAt.map { max(0, snapshot.takenAt.timeIntervalSince($0)) } ?? 0)
        }
        for (key, gauge) in s.jobs where !jobKeys.contains(key) {
            registry.unregisterGauge(gauge)
            s.jobs[key] = nil
        }
        for (key, gauge) in s.oldest where !oldestKeys.contains(key) {
            registry.unregisterGauge(gauge)
            s.oldest[key] = nil
        }

        // A schedule's last success is known when its last run succeeded; a later failure keeps the value seen.
        var scheduleIds: Set<Int64> = []
        for schedule in snapshot.schedules {
            scheduleIds.insert(schedule.id)
            guard schedule.lastStatus == .success, let lastRun = schedule.lastRun else { continue }
            let gauge = s.lastSuccess[schedule.id]?.gauge
                ?? registry.makeGauge(descriptor: Self.lastSuccess, labels: [("schedule", String(schedule.id))])
            gauge.set(lastRun.timeIntervalSince1970)
            s.lastSuccess[schedule.id] = (gauge, lastRun.timeIntervalSince1970)
        }
        for (id, entry) in s.lastSuccess where !scheduleIds.contains(id) {
            registry.unregisterGauge(entry.gauge)
            s.lastSuccess[id] = nil
        }

        let live = snapshot.liveWorkers
        let supervisorsGauge = s.supervisors ?? registry.makeGauge(descriptor: Self.supervisors)
        s.supervisors = supervisorsGauge
        supervisorsGauge.set(Double(live.count))

        var seen: Set<String> = []
        for worker in live {
            guard let stats = worker.stats, stats.version <= SupervisorSnapshot.currentVersion else { continue }
            seen.insert(worker.id)
            var series = s.series[worker.id] ?? SupervisorSeries()
            update(&series, supervisor: worker.id, stats)
            s.series[worker.id] = series
        }
        for (id, series) in s.series where !seen.contains(id) {
            unregister(series)
            s.series[id] = nil
        }
    }

    private func update(_ series: inout SupervisorSeries, supervisor: String, _ stats: SupervisorSnapshot) {
        var counterKeys: Set<String> = []
        func setCounter(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)], _ value: Int) {
            let key = descriptor.name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
            counterKeys.insert(key)
            let counter = series.counters[key] ?? registry.makeCounter(descriptor: descriptor, labels: [("supervisor", supervisor)] + labels)
            series.counters[key] = counter
            counter.reset()
            counter.increment(by: Int64(value))
        }
        for count in stats.finished {
            setCounter(Self.finished, [("queue", count.queue), ("type", count.type), ("outcome", count.outcome.rawValue)], count.count)
        }
        for reason in WorkerExitReason.allCases {
            setCounter(Self.workerExits, [("reason", reason.rawValue)], stats.workerExits[reason.rawValue] ?? 0)
        }
        setCounter(Self.pruned, [], stats.jobsPruned)
        for (key, counter) in series.counters where !counterKeys.contains(key) {
            registry.unregisterCounter(counter)
            series.counters[key] = nil
        }

        var byState: [String: Int] = [:]
        for worker in stats.workers { byState[worker.state, default: 0] += 1 }
        for state in Set(Self.workerStates).union(byState.keys) {
            let gauge = series.gauges[state]
                ?? registry.makeGauge(descriptor: Self.workers, labels: [("supervisor", supervisor), ("state", state)])
            series.gauges[state] = gauge
            gauge.set(Double(byState[state] ?? 0))
        }

        feed(&series, Self.duration, supervisor, stats.jobDuration, standard: HistogramSnapshot.durationBounds)
        feed(&series, Self.queueWait, supervisor, stats.queueWait, standard: HistogramSnapshot.durationBounds)
        feed(&series, Self.killLateness, supervisor, stats.killLateness, standard: HistogramSnapshot.latenessBounds)
    }

    /// Records what `current` added since the last snapshot of this series; a histogram whose counters went
    /// back (or whose bounds are not the family's) starts over.
    private func feed(
        _ series: inout SupervisorSeries, _ descriptor: MetricNameDescriptor, _ supervisor: String,
        _ current: HistogramSnapshot, standard: [Double]
    ) {
        // One family has one set of buckets: a snapshot with other bounds cannot be exported exactly.
        guard current.bounds == standard else { return }
        let name = descriptor.name
        var replay = HistogramReplay.delta(from: series.lastHistograms[name], to: current)
        if replay == nil, let stale = series.histograms[name] {
            registry.unregisterValueHistogram(stale)
            series.histograms[name] = nil
            replay = HistogramReplay.delta(from: nil, to: current)
        }
        guard let replay else { return }
        let histogram = series.histograms[name]
            ?? registry.makeValueHistogram(descriptor: descriptor, labels: [("supervisor", supervisor)], buckets: standard)
        series.histograms[name] = histogram
        for value in replay.values { histogram.record(value) }
        series.lastHistograms[name] = current
    }

    private func unregister(_ series: SupervisorSeries) {
        for counter in series.counters.values { registry.unregisterCounter(counter) }
        for gauge in series.gauges.values { registry.unregisterGauge(gauge) }
        for histogram in series.histograms.values { registry.unregisterValueHistogram(histogram) }
    }
}
