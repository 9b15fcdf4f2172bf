import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtProtocol
import Testing

/// The worker side of ending work: `SmrtWorker.retire()` (the demo worker's `Demo.retire`) over fd 3, in protocol 3
/// (RETIRE) and in the older versions a worker can still announce (a bare exit 0), and the runtime's flush of
/// printed output before each result.
@Suite struct WorkerRetireTests {
    func demo(_ method: String, _ args: JSONValue = [:], jobId: Int64) -> RunRequest {
        RunRequest(jobId: jobId, objectType: "Demo", method: method, argsJSON: args.jsonText)
    }

    /// The version the worker's HELLO announced.
    func helloVersion(_ worker: WorkerHarness) throws -> UInt16 {
        guard case .hello(let version, let pid, _) = try worker.receive(), pid == worker.pid else {
            throw HarnessError(description: "no HELLO from worker \(worker.pid)")
        }
        return version
    }

    /// The result of the last job, then RETIRE, then exit 0. The worker shut down the reading side of fd 3 before it
    /// answered, so a RUN sent after the result cannot even be written: it is never read.
    @Test func retireAfterAJobSendsTheResultThenRetireAndExitsZero() async throws {
        try await BlockingWork.run {
            let worker = try WorkerHarness.demoWorker()
            #expect(try helloVersion(worker) == 4)
            #expect(try worker.run(demo("noop", jobId: 1)).result == .resultOK(jobId: 1, result: nil))
            #expect(try worker.run(demo("retire", jobId: 2)).result == .resultOK(jobId: 2, result: nil))
            #expect(throws: HarnessError.self, "a RUN after the last result is refused") {
                try worker.send(.run(demo("noop", jobId: 3)))
            }
            #expect(try worker.receive() == .retire)
            #expect(try worker.waitForExit() == .exited(0))
            #expect(!worker.stderrText.contains("protocol error"), "\(worker.stderrText)")
        }
    }

    /// `retire()` while no job runs: RETIRE at once.
    @Test func retireWhileIdleSendsRetireAtOnce() async throws {
        try await BlockingWork.run {
            let worker = try WorkerHarness.demoWorker()
            #expect(try helloVersion(worker) == 4)
            #expect(try worker.run(demo("retire", ["afterMs": 100], jobId: 1)).result == .resultOK(jobId: 1, result: nil))
            #expect(worker.isRunning, "idle, not gone yet")
            #expect(try worker.receive(timeout: .seconds(5)) == .retire)
            #expect(try worker.waitForExit() == .exited(0))
        }
    }

    /// Speaking version 1 or 2 (for an older supervisor) there is no RETIRE: the worker answers, then exits 0, and a
    /// RUN sent after its result is refused the same way, so a version 3 supervisor can tell it was never read.
    @Test(arguments: [UInt16(1), 2])
    func anOlderVersionRetiresByExitingZeroAfterTheResult(_ version: UInt16) async throws {
        try await BlockingWork.run {
            let worker = try WorkerHarness.demoWorker(arguments: ["--protocol-version", String(version)])
            #expect(try helloVersion(worker) == version)
            #expect(try worker.run(demo("noop", jobId: 1)).result == .resultOK(jobId: 1, result: nil))
            #expect(try worker.run(demo("retire", jobId: 2)).result == .resultOK(jobId: 2, result: nil))
            #expect(throws: HarnessError.self) { try worker.send(.run(demo("noop", jobId: 3))) }
            #expect(throws: HarnessError.self, "no RETIRE: fd 3 just closes") { try worker.receive(timeout: .seconds(5)) }
            #expect(try worker.waitForExit() == .exited(0))
        }
    }

    @Test(arguments: [
        ("5", "protocol version 5 is not one this runtime speaks (1 to 4)"),
        ("0", "protocol version 0 is not one this runtime speaks (1 to 4)"),
        ("three", "--protocol-version needs a number, got 'three'"),
    ])
    func aVersionTheRuntimeDoesNotSpeakIsAClearError(_ value: String, _ message: String) async throws {
        try await BlockingWork.run {
            let worker = try WorkerHarness.demoWorker(arguments: ["--protocol-version", value])
            #expect(try worker.waitForExit() == .exited(2))
            #expect(worker.stderrText.contains(message), "\(worker.stderrText)")
        }
    }

    /// Output printed through Swift's `print` sits in C stdio's buffer when stdout is a pipe; the runtime flushes it
    /// before the result, so the supervisor reads it before it handles the result, as this job's.
    @Test func printedOutputIsFlushedBeforeTheResult() async throws {
        try await BlockingWork.run {
            let worker = try WorkerHarness.demoWorker()
            #expect(try helloVersion(worker) == 4)
            let printing = demo("print", ["text": "buffered by stdio", "newline": false, "stdio": true], jobId: 1)
            #expect(try worker.run(printing).result == .resultOK(jobId: 1, result: nil))
            try worker.waitForOutput("buffered by stdio", on: .stdout, timeout: .seconds(2))
            #expect(worker.isRunning)
            worker.closeChannel()
            #expect(try worker.waitForExit() == .exited(0))
        }
    }
}
