import CoreMetrics
import Foundation
import MetricsTestKit
import SmrtJobs
import Testing
@testable import SmrtSupervisor

/// A `MetricsFactory` that counts the metric objects made through it (what `JobMetrics` caches) and hands them to
/// `TestMetrics`.
final class CountingMetricsFactory: MetricsFactory {
    let test = TestMetrics()
    private let made = Locked<[String: Int]>([:])

    /// How many metric objects were made per label.
    var madePerLabel: [String: Int] { made.withLock { $0 } }

    private func note(_ label: String) { made.withLock { $0[label, default: 0] += 1 } }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        note(label)
        return test.makeCounter(label: label, dimensions: dimensions)
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        note(label)
        return test.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> MeterHandler {
        note(label)
        return test.makeMeter(label: label, dimensions: dimensions)
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        note(label)
        return test.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        note(label)
        return test.makeTimer(label: label, dimensions: dimensions)
    }
    func destroyCounter(_ handler: CounterHandler) { test.destroyCounter(handler) }
    func destroyMeter(_ handler: MeterHandler) { test.destroyMeter(handler) }
    func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) { test.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: RecorderHandler) { test.destroyRecorder(handler) }
    func destroyTimer(_ handler: TimerHandler) { test.destroyTimer(handler) }
}

/// The supervisor's counters and histograms, fed by hand: what the lease row publishes and what swift-metrics gets.
@Suite struct SupervisorMetricsTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func job(_ id: Int64, queue: String = "default", type: String = "Demo", runAt: Date = t0, createdAt: Date = t0) -> SmrtJob {
        SmrtJob(id: id, queue: queue, objectType: type, method: "noop", runAt: runAt, createdAt: createdAt, updatedAt: createdAt)
    }

    func snapshot(_ metrics: SupervisorMetrics, workers: [WorkerSnapshot] = []) -> SupervisorSnapshot {
        metrics.snapshot(takenAt: Self.t0, configuredWorkers: 2, queues: ["default", "mail"], workers: workers)
    }

    @Test func finishedAttemptsAreCountedPerQueueTypeAndOutcome() throws {
        let factory = CountingMetricsFactory()
        var metrics = SupervisorMetrics(export: JobMetrics(factory: factory))
        for id: Int64 in 1...3 { metrics.attemptRecorded(job(id), result: .completed) }
        metrics.attemptRecorded(job(4), result: .retrying(at: Self.t0))
        metrics.attemptRecorded(job(5), result: .failed)
        metrics.attemptRecorded(job(6, queue: "mail", type: "Mailer"), result: .notOwned)
        metrics.attemptRecorded(job(7), result: nil)  // not written: not counted

        let published = snapshot(metrics)
        #expect(published.finished == [
            FinishedCount(queue: "default", type: "Demo", outcome: .completed, count: 3),
            FinishedCount(queue: "default", type: "Demo", outcome: .failed, count: 1),
            FinishedCount(queue: "default", type: "Demo", outcome: .retried, count: 1),
            FinishedCount(queue: "mail", type: "Mailer", outcome: .cancelled, count: 1),
        ])
        func counted(_ queue: String, _ type: String, _ outcome: String) throws -> Int64 {
            try factory.test.expectCounter(
                JobMetrics.finishedLabel, [("queue", queue), ("type", type), ("outcome", outcome)]
            ).totalValue
        }
        #expect(try counted("default", "Demo", "completed") == 3)
        #expect(try counted("default", "Demo", "retried") == 1)
        #expect(try counted("default", "Demo", "failed") == 1)
        #expect(try counted("mail", "Mailer", "cancelled") == 1)
        #expect(try counted("mail", "Mailer", "completed") == 0)
        // One counter per (queue, type, outcome), made once: 2 pairs × 4 outcomes, however many jobs.
        #expect(factory.madePerLabel[JobMetrics.finishedLabel] == 8)
        for id in 10..<1010 { metrics.attemptRecorded(job(Int64(id)), result: .completed) }
        #expect(factory.madePerLabel[JobMetrics.finishedLabel] == 8)
        #expect(try counted("default", "Demo", "completed") == 1003)
    }

    @Test func manyJobTypesAreCappedSoTheLeaseRowStaysSmall() {
        var metrics = SupervisorMetrics(export: JobMetrics(factory: TestMetrics()))
        for i in 0..<(SupervisorMetrics.maxTypes + 50) {
            metrics.attemptRecorded(job(Int64(i), type: "Type\(i)"), result: .completed)
        }
        metrics.attemptRecorded(job(1, type: "Type0"), result: .failed)
        let finished = snapshot(metrics).finished
        #expect(Set(finished.map(\.type)).count == SupervisorMetrics.maxTypes + 1)
        #expect(finished.first { $0.type == SupervisorMetrics.otherType }?.count == 50)
        #expect(finished.first { $0.type == "Type0" && $0.outcome == .failed }?.count == 1, "a known type keeps its name")
    }

    @Test func durationsAndQueueWaitsGoIntoHistograms() throws {
        let factory = TestMetrics()
        var metrics = SupervisorMetrics(export: JobMetrics(factory: factory))
        // Due at t0 (created earlier, run at t0): waited 0.25 s. (Times in binary fractions of a second, exact
        // in a `Date`.)
        metrics.attemptStarted(job(1, runAt: Self.t0, createdAt: Self.t0 - 60), at: Self.t0 + 0.25)
        // Created at t0 with a run time before it: waits from its creation.
        metrics.attemptStarted(job(2, runAt: Self.t0 - 30, createdAt: Self.t0), at: Self.t0 + 0.001953125)
        // Pending for two hours: real data, kept (above every bound).
        metrics.attemptStarted(job(3), at: Self.t0 + 7200)
        // A clock step backwards: 0, not negative.
        metrics.attemptStarted(job(4), at: Self.t0 - 1)
        metrics.attemptEnded(durationSeconds: 0.00390625)
        metrics.attemptEnded(durationSeconds: 1.5)

        let published = snapshot(metrics)
        let bounds = HistogramSnapshot.durationBounds
        #expect(published.queueWait.count == 4)
        #expect(published.queueWait.counts[bounds.firstIndex(of: 0.005)!] == 2, "0 s and 2 ms")
        #expect(published.queueWait.counts[bounds.firstIndex(of: 0.25)!] == 1, "0.25 s")
        #expect(published.queueWait.counts.last == 1, "two hours")
        #expect(published.queueWait.sum == 7200.251953125)
        #expect(published.jobDuration.count == 2)
        #expect(published.jobDuration.counts[bounds.firstIndex(of: 2.5)!] == 1)
        #expect(published.jobDuration.sum == 1.50390625)

        let waits = try factory.expectTimer(JobMetrics.queueWaitLabel).values
        #expect(waits.sorted() == [0, 1_953_125, 250_000_000, 7_200_000_000_000])
        #expect(try factory.expectTimer(JobMetrics.durationLabel).values == [3_906_250, 1_500_000_000])
    }

    @Test func workerExitsKillLatenessAndPruning() throws {
        let factory = TestMetrics()
        var metrics = SupervisorMetrics(export: JobMetrics(factory: factory))
        metrics.workerExited(.signal)
        metrics.workerExited(.timeoutKill)
        metrics.workerExited(.timeoutKill)
        metrics.workerExited(.startFailed)
        metrics.killed(latenessSeconds: 0.0012)
        metrics.pruned(500)
        metrics.pruned(0)
        metrics.pruned(20)

        let published = snapshot(metrics)
        #expect(published.workerExits == ["signal": 1, "timeout_kill": 2, "start_failed": 1])
        #expect(published.killLateness.count == 1)
        #expect(published.killLateness.counts[1] == 1, "1.2 ms: in the 2 ms bucket")
        #expect(published.jobsPruned == 520)
        #expect(try factory.expectCounter(JobMetrics.workerExitsLabel, [("reason", "timeout_kill")]).totalValue == 2)
        #expect(try factory.expectCounter(JobMetrics.workerExitsLabel, [("reason", "exit")]).totalValue == 0)
        #expect(try factory.expectCounter(JobMetrics.prunedLabel).totalValue == 520)
        #expect(try factory.expectTimer(JobMetrics.killLatenessLabel).values == [1_200_000], "rounded to the ns")
    }

    @Test func theSnapshotCarriesTheWorkersAndSetsTheWorkerGauges() throws {
        let factory = TestMetrics()
        let metrics = SupervisorMetrics(export: JobMetrics(factory: factory))
        let workers = [
            WorkerSnapshot(pid: 10, state: "busy", rssBytes: 30 << 20, jobId: 5, jobLabel: "Demo.sleep()", jobStartedAt: Self.t0, jobsDone: 4, startedAt: Self.t0 - 100),
            WorkerSnapshot(pid: 11, state: "busy", rssBytes: 31 << 20, jobId: 6, jobLabel: "Demo.noop()", jobStartedAt: Self.t0, jobsDone: 2, startedAt: Self.t0 - 100),
            WorkerSnapshot(pid: 12, state: "idle", startedAt: Self.t0 - 1),
        ]
        let published = metrics.snapshot(takenAt: Self.t0, configuredWorkers: 3, queues: nil, workers: workers)
        #expect(published.workers == workers)
        #expect(published.configuredWorkers == 3 && published.queues == nil && published.takenAt == Self.t0)
        #expect(published.version == SupervisorSnapshot.currentVersion)
        #expect(try factory.expectGauge(JobMetrics.workersLabel, [("state", "busy")]).lastValue == 2)
        #expect(try factory.expectGauge(JobMetrics.workersLabel, [("state", "idle")]).lastValue == 1)
        #expect(try factory.expectGauge(JobMetrics.workersLabel, [("state", "starting")]).lastValue == 0)
        // The lease row carries it as JSON: it reads back the same.
        let decoded = try JSONDecoder().decode(SupervisorSnapshot.self, from: JSONEncoder().encode(published))
        #expect(decoded == published)
    }
}
