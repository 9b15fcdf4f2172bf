import Foundation
import MetricsTestKit
import Testing
@testable import SmrtJobs

/// The in-process runner reports its jobs through swift-metrics, to the factory in its options (no global
/// bootstrap): attempts finished per queue, type and outcome, their durations and queue waits.
@Suite struct TaskRunnerMetricsTests {
    @Test func finishedAttemptsDurationsAndQueueWaitsReachTheFactory() async throws {
        try await RunnerFixture.run { f in
            let metrics = TestMetrics()
            var options = RunnerFixture.options()
            options.metricsFactory = metrics
            let added = try (0..<3).map { _ in try f.enqueue("add", args: ["a": 1, "b": 2]).id }
            let slept = try f.enqueue("sleep", args: ["ms": 120]).id
            // Fails its first attempt (retried), then for good.
            let flaky = try f.enqueue("flaky", maxAttempts: 2).id
            let runner = f.makeRunner(options)
            try await runner.start()
            for id in added + [slept] { try await f.waitFor(id, .completed) }
            try await f.waitFor(flaky, .failed)

            func finished(_ outcome: String) throws -> Int64 {
                try metrics.expectCounter(
                    JobMetrics.finishedLabel, [("queue", "default"), ("type", "Work"), ("outcome", outcome)]
                ).totalValue
            }
            // The store says failed before the runner counts the attempt: wait for the count.
            try await f.eventually("the last attempt counted") { (try? finished("failed")) == 1 }
            #expect(try finished("completed") == 4)
            #expect(try finished("retried") == 1)
            #expect(try finished("failed") == 1)
            #expect(try finished("cancelled") == 0)
            let durations = try metrics.expectTimer(JobMetrics.durationLabel).values
            #expect(durations.count == 6, "one per attempt")
            #expect(durations.contains { $0 >= 120_000_000 }, "the 120 ms sleep: \(durations)")
            let waits = try metrics.expectTimer(JobMetrics.queueWaitLabel).values
            #expect(waits.count == 6 && waits.allSatisfy { $0 >= 0 })
        }
    }

    @Test func aJobThatWasWaitingLongShowsItsWait() async throws {
        try await RunnerFixture.run { f in
            let metrics = TestMetrics()
            var options = RunnerFixture.options()
            options.metricsFactory = metrics
            let id = try f.enqueue("add", args: ["a": 1, "b": 1]).id
            // The runner's clock says an hour has passed since the job was enqueued.
            let runner = f.makeRunner(options, clock: { Date().addingTimeInterval(3600) })
            try await runner.start()
            try await f.waitFor(id, .completed)
            let waits = try metrics.expectTimer(JobMetrics.queueWaitLabel).values
            #expect(waits.count == 1)
            #expect(waits.allSatisfy { $0 >= 3_600_000_000_000 && $0 < 3_700_000_000_000 }, "\(waits)")
        }
    }
}
