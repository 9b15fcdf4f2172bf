import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtProtocol
import Testing

/// The Swift runtime in protocol 4, driven over fd 3: RUNs that arrive while a job runs are queued, each starts as soon
/// as the one before has answered, with STARTED before any of its code runs; CANCEL of a queued job drops it (answered
/// without STARTED); after SHUTDOWN or `retire()` no queued job starts.
@Suite struct PipelinedWorkerTests {
    func demo(_ method: String, _ args: JSONValue = [:], jobId: Int64) -> RunRequest {
        RunRequest(jobId: jobId, objectType: "Demo", method: method, argsJSON: args.jsonText)
    }

    /// A demo worker that said HELLO with version 4.
    func pipelinedWorker() throws -> WorkerHarness {
        let worker = try WorkerHarness.demoWorker()
        guard case .hello(let version, _, _) = try worker.receive(), version == 4 else {
            throw HarnessError(description: "no HELLO of version 4 from worker \(worker.pid)")
        }
        return worker
    }

    /// Every message until `count` results have arrived (at most 10 s).
    func messages(untilResults count: Int, from worker: WorkerHarness) throws -> [WorkerMessage] {
        var received: [WorkerMessage] = []
        var results = 0
        while results < count {
            let message = try worker.receive()
            received.append(message)
            if case .resultOK = message { results += 1 }
            if case .resultError = message { results += 1 }
        }
        return received
    }

    @Test func queuedRunsStartInOrderEachAfterItsStarted() async throws {
        try await BlockingWork.run {
            let worker = try pipelinedWorker()
            try worker.send(.run(demo("sleep", ["ms": 100], jobId: 1)))
            try worker.send(.run(demo("echo", ["n": 2], jobId: 2)))
            try worker.send(.run(demo("noop", jobId: 3)))
            #expect(try messages(untilResults: 3, from: worker) == [
                .started(jobId: 1), .resultOK(jobId: 1, result: nil),
                .started(jobId: 2), .resultOK(jobId: 2, result: #"{"n":2}"#),
                .started(jobId: 3), .resultOK(jobId: 3, result: nil),
            ])
            worker.closeChannel()
            #expect(try worker.waitForExit() == .exited(0))
        }
    }

    /// A queued job that is cancelled never starts: RESULT_ERROR `cancelled` without STARTED, while the running job
    /// goes on and the job queued after it runs.
    @Test func cancelOfAQueuedJobDropsItWithoutStarted() async throws {
        try await BlockingWork.run {
            let worker = try pipelinedWorker()
            try worker.send(.run(demo("sleep", ["ms": 300], jobId: 1)))
            #expect(try worker.receive() == .started(jobId: 1))
            try worker.send(.run(demo("noop", jobId: 2)))
            try worker.send(.run(demo("noop", jobId: 3)))
            try worker.send(.cancel(jobId: 2))
            #expect(try messages(untilResults: 3, from: worker) == [
                .resultError(jobId: 2, retryable: true, message: "cancelled"),
                .resultOK(jobId: 1, result: nil), .started(jobId: 3), .resultOK(jobId: 3, result: nil),
            ])
        }
    }

    /// CANCEL of the running job reaches only that job: the one queued behind it runs to its end.
    @Test func cancelOfTheRunningJobSparesTheQueuedOne() async throws {
        try await BlockingWork.run {
            let worker = try pipelinedWorker()
            try worker.send(.run(demo("sleep", ["ms": 60_000], jobId: 1)))
            #expect(try worker.receive() == .started(jobId: 1))
            try worker.send(.run(demo("sleep", ["ms": 100], jobId: 2)))
            try worker.send(.cancel(jobId: 1))
            #expect(try messages(untilResults: 2, from: worker) == [
                .resultError(jobId: 1, retryable: true, message: "cancelled"),
                .started(jobId: 2), .resultOK(jobId: 2, result: nil),
            ])
            // And the executor that took over still serves CANCEL for its own job.
            try worker.send(.run(demo("sleep", ["ms": 60_000], jobId: 3)))
            #expect(try worker.receive() == .started(jobId: 3))
            try worker.send(.cancel(jobId: 3))
            #expect(try worker.receive(timeout: .seconds(5)) == .resultError(jobId: 3, retryable: true, message: "cancelled"))
        }
    }

    /// SHUTDOWN: the running job finishes and answers; the queued one never starts; exit 0.
    @Test func shutdownStartsNoQueuedJob() async throws {
        try await BlockingWork.run {
            let worker = try pipelinedWorker()
            try worker.send(.run(demo("sleep", ["ms": 200], jobId: 1)))
            try worker.send(.run(demo("noop", jobId: 2)))
            try worker.send(.shutdown)
            #expect(try worker.receive() == .started(jobId: 1))
            #expect(try worker.receive() == .resultOK(jobId: 1, result: nil))
            #expect(try worker.waitForExit() == .exited(0))
            #expect(throws: HarnessError.self, "nothing after the result: no STARTED for job 2") {
                try worker.receive(timeout: .milliseconds(100))
            }
        }
    }

    /// `retire()` from job code: its result, RETIRE, exit 0; the job queued behind it never starts.
    @Test func retireStartsNoQueuedJob() async throws {
        try await BlockingWork.run {
            let worker = try pipelinedWorker()
            try worker.send(.run(demo("retire", jobId: 1)))
            try worker.send(.run(demo("noop", jobId: 2)))
            #expect(try worker.receive() == .started(jobId: 1))
            #expect(try worker.receive() == .resultOK(jobId: 1, result: nil))
            #expect(try worker.receive() == .retire)
            #expect(try worker.waitForExit() == .exited(0))
        }
    }

    /// 2,000 noops with one always queued behind the running one: every job answered once, in order.
    @Test func manyPipelinedJobsInARow() async throws {
        try await BlockingWork.run {
            let worker = try pipelinedWorker()
            let count: Int64 = 2000
            try worker.send(.run(demo("noop", jobId: 1)))
            var expected: Int64 = 1
            var sent: Int64 = 1
            while expected <= count {
                if sent < count && sent - expected < 1 {
                    sent += 1
                    try worker.send(.run(demo("noop", jobId: sent)))
                }
                let message = try worker.receive()
                switch message {
                case .started(let id):
                    #expect(id == expected)
                case .resultOK(let id, nil):
                    #expect(id == expected)
                    expected += 1
                default:
                    Issue.record("unexpected \(message)")
                    return
                }
            }
            worker.closeChannel()
            #expect(try worker.waitForExit() == .exited(0))
        }
    }
}
