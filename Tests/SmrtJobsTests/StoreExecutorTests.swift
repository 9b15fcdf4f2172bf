import Foundation
import Testing
@testable import SmrtJobs

/// `StoreExecutor`: one thread, calls in order, closed once.
@Suite struct StoreExecutorTests {
    /// A stand-in store that records what ran on it, and on which thread.
    final class Recorder: Sendable {
        let calls = Locked<[Int]>([])
    }

    @Test func runsCallsInOrderOnItsOwnThread() async throws {
        let executor = try await StoreExecutor(name: "smrt-test-exec") { Recorder() }
        for i in 0..<50 {
            try executor.submit { recorder in recorder.calls.withLock { $0.append(i) } }
        }
        let calls = try await executor.run { $0.calls.withLock { $0 } }
        #expect(calls == Array(0..<50))
        let thread = try await executor.run { _ in try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
        #expect(thread == "smrt-test-exec\n")
        await executor.close()
    }

    @Test func closeLetsQueuedCallsFinishThenRefusesNewOnes() async throws {
        let executor = try await StoreExecutor(name: "smrt-test-exec") { Recorder() }
        let gate = DispatchSemaphore(value: 0)
        try executor.submit { _ in gate.wait() }  // holds the thread until the calls below are queued
        let queued = Task { try await executor.run { recorder in recorder.calls.withLock { $0.append(1); return $0 } } }
        try await waitUntil { executor.core.state.withLock { $0.work.count } == 1 }
        let closing = Task { await executor.close() }
        try await waitUntil { executor.core.state.withLock { $0.closing } }
        await #expect(throws: SmrtJobsError.closed(what: "smrt-test-exec")) { try await executor.run { _ in 0 } }
        gate.signal()
        #expect(try await queued.value == [1])
        await closing.value
        #expect(executor.isClosed)
        await executor.close()  // again: returns at once
    }

    @Test func aFailedOpenThrowsAndEndsTheThread() async throws {
        await #expect(throws: SmrtJobsError.database(kind: .unavailable, message: "no server")) {
            _ = try await StoreExecutor<Recorder>(name: "smrt-test-exec") {
                throw SmrtJobsError.database(kind: .unavailable, message: "no server")
            }
        }
    }

    @Test func anExecutorNobodyHoldsEndsItsThread() async throws {
        let core: StoreExecutor<Recorder>.Core
        do {
            let executor = try await StoreExecutor(name: "smrt-test-exec") { Recorder() }
            core = executor.core
            #expect(try await executor.run { _ in 1 } == 1)
        }
        try await waitUntil { core.isFinished }
    }

    @Test func errorsOfTheCallReachTheCaller() async throws {
        let executor = StoreExecutor(name: "smrt-test-exec", store: Recorder())
        await #expect(throws: SmrtJobsError.jobNotFound(3)) { try await executor.run { _ in throw SmrtJobsError.jobNotFound(3) } }
        await executor.close()
    }

    private func waitUntil(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while !condition() {
            if ContinuousClock.now >= deadline {
                Issue.record("condition not met within 60 s", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
