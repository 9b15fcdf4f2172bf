import Foundation
import SmrtJobs
import SmrtProtocol
import Testing

/// examples/python-worker/worker.py, a worker written from the spec alone, driven over fd 3.
@Suite struct PythonWorkerTests {
    func pyDemo(_ method: String, _ args: JSONValue = [:], jobId: Int64) -> RunRequest {
        RunRequest(jobId: jobId, attempt: 1, deadlineMillis: 1_700_000_000_000, objectType: "PyDemo",
                   method: method, argsJSON: args.jsonText)
    }

    @Test func servesJobsAndExitsOnEOF() throws {
        let worker = try WorkerHarness.pythonWorker()
        #expect(try worker.receiveHello() == ["PyDemo"])

        let echo = try worker.run(pyDemo("echo", ["a": 1, "s": "ü", "_agentConfig": ["m": 1]], jobId: 1))
        guard case .resultOK(1, let json?) = echo.result else { Issue.record("echo: \(echo.result)"); return }
        #expect(try JSONValue.parse(json) == ["a": 1, "s": "ü"])

        #expect(try worker.run(pyDemo("fail", ["message": "boom"], jobId: 2)).result
            == .resultError(jobId: 2, retryable: true, message: "boom"))
        #expect(try worker.run(pyDemo("nope", jobId: 3)).result
            == .resultError(jobId: 3, retryable: false, message: "Method not found: PyDemo.nope"))
        #expect(try worker.run(RunRequest(jobId: 4, objectType: "Nope", method: "echo")).result
            == .resultError(jobId: 4, retryable: false, message: "Unknown object type: Nope"))

        worker.closeChannel()
        #expect(try worker.waitForExit(timeout: .seconds(5)) == .exited(0))
    }

    @Test func shutdownExitsZero() throws {
        let worker = try WorkerHarness.pythonWorker()
        _ = try worker.receiveHello()
        try worker.send(.shutdown)
        #expect(try worker.waitForExit(timeout: .seconds(5)) == .exited(0))
    }

    @Test func malformedFrameExitsTwo() throws {
        let worker = try WorkerHarness.pythonWorker()
        _ = try worker.receiveHello()
        try worker.sendRaw([0, 0, 0, 0])
        #expect(try worker.waitForExit(timeout: .seconds(5)) == .exited(2))
        #expect(worker.stderrText.contains("protocol error: zero-length frame"))
    }
}
