import Testing
@testable import SmrtSupervisor

@Suite struct UVLoopTests {
    @Test func errorDescriptionNamesOperationCodeAndMessage() {
        let error = UVError(code: UVError.Code.ENOENT, operation: "uv_spawn")
        #expect(error.description == "uv_spawn: ENOENT (no such file or directory)")
        #expect(error.name == "ENOENT")
        #expect(throws: error) { try UVError.check(UVError.Code.ENOENT, "uv_spawn") }
        #expect(throws: Never.self) { try UVError.check(0, "uv_spawn") }
        #expect(throws: Never.self) { try UVError.check(5, "uv_read") }
        #expect(UVError(code: -99_999, operation: "x").name.contains("99999"))
    }

    @Test func emptyLoopRunsAndClosesCleanly() throws {
        let loop = try UVLoop()
        #expect(loop.run() == false)
        #expect(!loop.isAlive)
        expectCleanClose(loop)
        #expect(throws: Never.self) { try loop.close() }  // idempotent
    }

    @Test func closeFailsWithEBUSYWhileAHandleIsOpen() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        try timer.start(timeoutMs: 60_000) { _ in }
        do {
            try loop.close()
            Issue.record("uv_loop_close succeeded with an open timer")
        } catch let error as UVError {
            #expect(error.code == UVError.Code.EBUSY)
            #expect(error.operation.contains("timer (active)"))
        }
        #expect(!loop.isClosed)
        #expect(loop.handleDescriptions == ["timer (active)"])
        timer.close()
        // close() itself runs the loop so the pending close callback can finish.
        expectCleanClose(loop)
        #expect(timer.isClosed)
    }

    @Test func handleClosesExactlyOnceAndReportsEveryCloseCompletion() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        var completions: [String] = []
        timer.close { completions.append("first") }
        timer.close { completions.append("second") }
        #expect(timer.isClosing && !timer.isClosed)
        #expect(completions.isEmpty)
        loop.run()
        #expect(timer.isClosed)
        #expect(completions == ["first", "second"])
        timer.close { completions.append("after") }
        #expect(completions == ["first", "second", "after"])
        #expect(loop.handlesClosed == 1)
        expectCleanClose(loop)
    }

    @Test func operationsOnAClosedHandleFailInsteadOfTouchingFreedMemory() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        timer.close()
        loop.run()
        #expect(throws: UVError.self) { try timer.start(timeoutMs: 1) { _ in } }
        timer.stop()
        #expect(!timer.isActive)
        expectCleanClose(loop)
    }

    @Test func closeAllHandlesClosesWhateverIsLeft() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        try timer.start(timeoutMs: 60_000) { _ in }
        let signal = try UVSignal(loop: loop)
        let (a, b) = try UVPipe.socketPair(loop: loop)
        #expect(loop.handleDescriptions.count == 4)
        loop.closeAllHandles()
        expectCleanClose(loop)
        #expect(timer.isClosed && signal.isClosed && a.isClosed && b.isClosed)
    }

    @Test func clocksMoveForward() throws {
        let loop = try UVLoop()
        // A timer counts from the loop's cached time (whole ms, rounded down), not from the moment it is started:
        // refreshed here, a 5 ms timer fires at least 4 ms of hrtime later. (Counted from the loop's creation, a loaded
        // CI run saw it fire 4.1 ms after `hr`.)
        loop.updateTime()
        let before = loop.now
        let hr = UVLoop.hrtimeNanos
        let timer = try UVTimer(loop: loop)
        try timer.start(timeoutMs: 5) { $0.close() }
        runWithDeadline(loop)
        loop.updateTime()
        #expect(loop.now >= before + 5)
        #expect(loop.hrtimeNanos >= hr + 4_000_000)
        expectCleanClose(loop)
    }
}
