import Foundation
import SmrtJobs
import SmrtProtocol
import Testing

/// The SmrtWorker runtime, end to end: the real `smrt-demo-worker` process driven over fd 3.
@Suite struct DemoWorkerTests {
    func demo(_ method: String, _ args: JSONValue = [:], jobId: Int64 = 1) -> RunRequest {
        RunRequest(jobId: jobId, objectType: "Demo", method: method, argsJSON: args.jsonText)
    }

    /// A started demo worker whose HELLO has been checked.
    func startedWorker() throws -> WorkerHarness {
        let worker = try WorkerHarness.demoWorker()
        #expect(try worker.receiveHello() == ["Demo"])
        return worker
    }

    @Test func helloThenJobsThenExitOnEOF() throws {
        let worker = try startedWorker()

        #expect(try worker.run(demo("noop", jobId: 1)).result == .resultOK(jobId: 1, result: nil))

        let echo = try worker.run(demo("echo", ["text": "héllo", "n": 2, "_scheduleId": 9, "_agentConfig": ["k": 1]], jobId: 2))
        guard case .resultOK(2, let json?) = echo.result else { Issue.record("echo: \(echo.result)"); return }
        #expect(try JSONValue.parse(json) == ["text": "héllo", "n": 2])

        #expect(try worker.run(demo("fail", ["message": "boom"], jobId: 3)).result
            == .resultError(jobId: 3, retryable: true, message: "boom"))
        #expect(try worker.run(demo("allocate", ["mb": 32], jobId: 4)).result
            == .resultOK(jobId: 4, result: #"{"mb":32}"#))

        worker.closeChannel()
        #expect(try worker.waitForExit() == .exited(0))
    }

    @Test func jobsThatCannotRunFailForGood() throws {
        let worker = try startedWorker()
        #expect(try worker.run(demo("nope", jobId: 1)).result
            == .resultError(jobId: 1, retryable: false, message: "Method not found: Demo.nope"))
        #expect(try worker.run(RunRequest(jobId: 2, objectType: "Nope", method: "noop")).result
            == .resultError(jobId: 2, retryable: false, message: "Unknown object type: Nope"))
        #expect(try worker.run(RunRequest(jobId: 3, objectType: "Demo", objectId: "d-1", method: "noop")).result
            == .resultError(jobId: 3, retryable: false, message: "Object-bound job target not found: Demo#d-1"))
        guard case .resultError(4, false, let message) = try worker.run(
            RunRequest(jobId: 4, objectType: "Demo", method: "echo", argsJSON: "[1,2]")).result
        else { Issue.record("args that are not an object must fail for good"); return }
        #expect(message.contains("invalid JSON in args"))
        guard case .resultError(5, false, let message) = try worker.run(demo("sleep", ["ms": "soon"], jobId: 5)).result
        else { Issue.record("bad argument types must fail for good"); return }
        #expect(message.contains("Invalid arguments for Demo.sleep"))
    }

    @Test(arguments: [("SEGV", SIGSEGV), ("SIGABRT", SIGABRT), ("BUS", SIGBUS), ("ill", SIGILL),
                      ("FPE", SIGFPE), ("TERM", SIGTERM), ("KILL", SIGKILL), ("10", SIGUSR1)])
    func crashDiesByTheSignal(_ name: String, _ signal: Int32) throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("crash", ["signal": .string(name)])))
        #expect(try worker.waitForExit() == .signaled(signal))
    }

    @Test func crashAcceptsASignalNumber() throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("crash", ["signal": 11])))
        #expect(try worker.waitForExit() == .signaled(SIGSEGV))
    }

    /// `afterMs`: the crash comes that long after the RUN, not before; a value that is not a number of ms fails the
    /// job for good.
    @Test func crashCanWaitFirst() throws {
        let worker = try startedWorker()
        guard case .resultError(1, false, let message) = try worker.run(
            demo("crash", ["signal": "SEGV", "afterMs": "soon"])).result
        else { Issue.record("a bad afterMs must fail for good"); return }
        #expect(message.contains("'afterMs' must be 0 to 3600000 milliseconds"), "\(message)")
        let sent = Date()
        try worker.send(.run(demo("crash", ["signal": "SEGV", "afterMs": 200], jobId: 2)))
        #expect(try worker.waitForExit() == .signaled(SIGSEGV))
        #expect(Date().timeIntervalSince(sent) >= 0.2)
    }

    @Test func exitUsesTheGivenCode() throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("exit", ["code": 3])))
        #expect(try worker.waitForExit() == .exited(3))
    }

    @Test func printReachesStdoutAndStderr() throws {
        let worker = try startedWorker()
        #expect(try worker.run(demo("print", ["text": "hello from a job"])).result == .resultOK(jobId: 1, result: nil))
        try worker.waitForOutput("hello from a job\n", on: .stdout)
        try worker.waitForOutput("hello from a job\n", on: .stderr)
        worker.closeChannel()
        #expect(try worker.waitForExit() == .exited(0))
        #expect(worker.stdoutText == "hello from a job\n", "the runtime itself writes nothing on stdout")
    }

    @Test func appendWritesTheLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-append-\(UUID().uuidString)").path
        defer { unlink(path) }
        let worker = try startedWorker()
        _ = try worker.run(demo("append", ["path": .string(path), "line": "first"], jobId: 1))
        _ = try worker.run(demo("append", ["path": .string(path), "line": "second"], jobId: 2))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\nsecond\n")
    }

    @Test func progressMessagesPrecedeTheResult() throws {
        let worker = try startedWorker()
        let (result, progress) = try worker.run(demo("progress", ["steps": 3], jobId: 7))
        #expect(result == .resultOK(jobId: 7, result: nil))
        #expect(progress.first == #"{"fraction":0.3333333333333333,"message":"step 1 of 3"}"#)
        let parsed = try progress.map { try JobProgress.parse(json: $0, receivedAt: Date()) }
        let thirds: [Double] = [1.0 / 3, 2.0 / 3, 1]
        #expect(parsed.map(\.fraction) == thirds)
        #expect(parsed.map(\.message) == ["step 1 of 3", "step 2 of 3", "step 3 of 3"])
    }

    /// `JobContext.progress` checks its values in the worker: the job code gets the error naming the field, and
    /// nothing goes to the supervisor.
    @Test(arguments: [
        (JSONValue.double(1.5), nil as Int?, "fraction"), (-0.25, nil, "fraction"), ("nan", nil, "fraction"),
        ("inf", nil, "fraction"), (0.5, 1001, "message"),
    ])
    func invalidProgressIsRefusedInTheWorker(fraction: JSONValue, messageBytes: Int?, field: String) throws {
        let worker = try startedWorker()
        var args: [String: JSONValue] = ["fraction": fraction]
        if let messageBytes { args["messageBytes"] = .int(Int64(messageBytes)) }
        let (result, progress) = try worker.run(demo("checkProgress", .object(args), jobId: 8))
        #expect(progress.isEmpty, "nothing sent: \(progress)")
        guard case .resultOK(_, let text?) = result, let answer = try? JSONValue.parse(text) else {
            Issue.record("unexpected answer \(result)")
            return
        }
        #expect(answer["sent"] == false)
        #expect(answer["error"]?.stringValue?.hasPrefix("invalid \(field) ") == true, "\(answer)")
    }

    @Test func validProgressAtTheBoundsIsSent() throws {
        let worker = try startedWorker()
        for (jobId, fraction) in [(Int64(9), 0.0), (10, 1.0)] {
            let (result, progress) = try worker.run(demo("checkProgress", ["fraction": .double(fraction), "messageBytes": 1000], jobId: jobId))
            #expect(result == .resultOK(jobId: jobId, result: #"{"sent":true}"#))
            let parsed = try progress.map { try JobProgress.parse(json: $0, receivedAt: Date()) }
            #expect(parsed.map(\.fraction) == [fraction])
            #expect(parsed.first?.message?.utf8.count == 1000)
        }
    }

    @Test func cancelStopsASleepingJob() throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("sleep", ["ms": 60_000], jobId: 5)))
        #expect(try worker.receive() == .started(jobId: 5))
        try worker.send(.cancel(jobId: 5))
        #expect(try worker.receive(timeout: .seconds(5)) == .resultError(jobId: 5, retryable: true, message: "cancelled"))
        // The worker serves the next job after a cancelled one.
        #expect(try worker.run(demo("noop", jobId: 6)).result == .resultOK(jobId: 6, result: nil))
    }

    @Test func cancelForAnotherJobIsIgnored() throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("sleep", ["ms": 50], jobId: 5)))
        try worker.send(.cancel(jobId: 4))
        #expect(try worker.receive() == .started(jobId: 5))
        #expect(try worker.receive() == .resultOK(jobId: 5, result: nil))
    }

    @Test func spinIgnoresCancelUntilKilled() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-spin-\(UUID().uuidString)").path
        defer { unlink(pidFile) }
        let worker = try startedWorker()
        try worker.send(.run(demo("spin", ["pidFile": .string(pidFile)], jobId: 8)))
        #expect(try worker.receive() == .started(jobId: 8))
        try worker.send(.cancel(jobId: 8))
        let deadline = ContinuousClock.now + .seconds(10)
        var written: String?
        while written == nil && ContinuousClock.now < deadline {
            written = try? String(contentsOfFile: pidFile, encoding: .utf8)
            if written == nil { _ = try? worker.receive(timeout: .milliseconds(10)) }
        }
        #expect(written == "\(worker.pid)\n")
        #expect(throws: HarnessError.self) { try worker.receive(timeout: .milliseconds(200)) }
        #expect(worker.isRunning)
        kill(worker.pid, SIGKILL)
        #expect(try worker.waitForExit() == .signaled(SIGKILL))
    }

    @Test func eofExitsAtOnceEvenDuringAJob() throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("sleep", ["ms": 60_000])))
        worker.closeChannel()
        #expect(try worker.waitForExit(timeout: .seconds(5)) == .exited(0))
    }

    @Test func shutdownWhenIdleExitsZero() throws {
        let worker = try startedWorker()
        try worker.send(.shutdown)
        #expect(try worker.waitForExit() == .exited(0))
    }

    @Test func shutdownFinishesTheCurrentJobFirst() throws {
        let worker = try startedWorker()
        try worker.send(.run(demo("sleep", ["ms": 200], jobId: 9)))
        try worker.send(.shutdown)
        #expect(try worker.receive() == .started(jobId: 9))
        #expect(try worker.receive() == .resultOK(jobId: 9, result: nil))
        #expect(try worker.waitForExit() == .exited(0))
    }

    @Test func malformedFrameExitsTwo() throws {
        let worker = try startedWorker()
        try worker.sendRaw([0, 0, 0, 1, 0x2A])
        #expect(try worker.waitForExit() == .exited(2))
        #expect(worker.stderrText.contains("protocol error: unknown message type 0x2A"))
    }

    @Test func workerMessagesFromTheSupervisorAreAViolation() throws {
        let worker = try startedWorker()
        try worker.send(.resultOK(jobId: 1, result: nil))
        #expect(try worker.waitForExit() == .exited(2))
        #expect(worker.stderrText.contains("protocol error: unexpected RESULT_OK message from the supervisor"))
    }

    /// Up to protocol 3 a worker takes one RUN at a time (protocol 4 queues the next one: `PipelinedWorkerTests`).
    @Test func secondRunWhileBusyIsAViolationBeforeProtocol4() throws {
        let worker = try WorkerHarness.demoWorker(arguments: ["--protocol-version", "3"])
        _ = try worker.receiveHello()
        try worker.send(.run(demo("sleep", ["ms": 60_000], jobId: 1)))
        try worker.send(.run(demo("noop", jobId: 2)))
        #expect(try worker.waitForExit() == .exited(2))
        #expect(worker.stderrText.contains("RUN for job 2 while job 1 is running"))
    }

    @Test func refusesToRunWithoutFd3() throws {
        // Started by hand: no fd 3.
        let worker = try WorkerHarness(executable: "/bin/sh", arguments: ["-c", "exec 3>&-; exec \"$0\"", WorkerHarness.demoWorkerPath])
        #expect(try worker.waitForExit() == .exited(2))
        #expect(worker.stderrText.contains("fd 3 is not open"))
    }

    @Test func manyJobsInARow() throws {
        let worker = try startedWorker()
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for id in 1...2000 {
                let reply = try worker.run(demo("noop", jobId: Int64(id))).result
                guard reply == .resultOK(jobId: Int64(id), result: nil) else {
                    Issue.record("job \(id): \(reply)")
                    return
                }
            }
        }
        print("2000 noop round trips through smrt-demo-worker (debug build): \(elapsed)")
    }
}

/// The worker's watchdog (protocol version 2): armed by the first KEEPALIVE, pushed back by each one, and the
/// end of the worker when none comes in time, whatever job it is running.
@Suite struct WorkerWatchdogTests {
    func demo(_ method: String, _ args: JSONValue = [:], jobId: Int64) -> RunRequest {
        RunRequest(jobId: jobId, objectType: "Demo", method: method, argsJSON: args.jsonText)
    }

    @Test func aWorkerThatHearsNoKeepaliveInTimeStopsItsJobAndExits() throws {
        let worker = try WorkerHarness.demoWorker()
        _ = try worker.receiveHello()
        try worker.send(.keepalive(watchdogMillis: 300))
        try worker.send(.run(demo("sleep", ["ms": 30_000], jobId: 1)))
        #expect(try worker.waitForExit(timeout: .seconds(10)) == .exited(75))
        #expect(worker.stderrText.contains("no KEEPALIVE from the supervisor for 300 ms"), "\(worker.stderrText)")
    }

    @Test func eachKeepalivePushesTheDeadlineBack() throws {
        let worker = try WorkerHarness.demoWorker()
        _ = try worker.receiveHello()
        // Two jobs of 250 ms, each after a keepalive of 400 ms: 500 ms in all, past the first deadline.
        for jobId in Int64(1)...2 {
            try worker.send(.keepalive(watchdogMillis: 400))
            #expect(try worker.run(demo("sleep", ["ms": 250], jobId: jobId)).result == .resultOK(jobId: jobId, result: nil))
        }
        worker.closeChannel()
        #expect(try worker.waitForExit() == .exited(0))
    }

    @Test func withoutAKeepaliveTheWatchdogIsNeverArmed() throws {
        let worker = try WorkerHarness.demoWorker()
        _ = try worker.receiveHello()
        #expect(try worker.run(demo("sleep", ["ms": 600], jobId: 1)).result == .resultOK(jobId: 1, result: nil))
        worker.closeChannel()
        #expect(try worker.waitForExit() == .exited(0))
    }
}
