import Testing
@testable import SmrtSupervisor

@Suite struct UVTimerTests {
    @Test func firesOnceAfterItsTimeout() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        // Timers count from the loop's cached time: refresh it, or a preempted test sees an early fire.
        loop.updateTime()
        let start = UVLoop.hrtimeNanos
        var firedAfterNanos: UInt64?
        var fires = 0
        try timer.start(timeoutMs: 20) { timer in
            fires += 1
            firedAfterNanos = UVLoop.hrtimeNanos - start
            timer.close()
        }
        #expect(timer.isActive)
        runWithDeadline(loop)
        #expect(fires == 1)
        // libuv may fire up to ~1 ms early (whole-millisecond cached clock).
        #expect((firedAfterNanos ?? 0) >= 19_000_000)
        expectCleanClose(loop)
    }

    @Test func twoTimersFireInDeadlineOrder() throws {
        let loop = try UVLoop()
        let late = try UVTimer(loop: loop)
        let early = try UVTimer(loop: loop)
        var order: [String] = []
        try late.start(timeoutMs: 40) { order.append("late"); $0.close() }
        try early.start(timeoutMs: 5) { order.append("early"); $0.close() }
        runWithDeadline(loop)
        #expect(order == ["early", "late"])
        expectCleanClose(loop)
    }

    @Test func repeatsUntilStoppedAndAgainRestarts() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        var ticks = 0
        try timer.start(timeoutMs: 1, repeatMs: 2) { timer in
            ticks += 1
            if ticks == 3 { timer.stop() }
        }
        #expect(timer.repeatMs == 2)
        runWithDeadline(loop)
        #expect(ticks == 3)
        #expect(!timer.isActive)
        try timer.again()
        #expect(timer.isActive)
        #expect(timer.dueInMs <= 2)
        timer.repeatMs = 0
        runWithDeadline(loop)  // one more repeat-interval tick, then the timer is one-shot
        #expect(ticks == 4)
        timer.close()
        expectCleanClose(loop)
    }

    @Test func stopBeforeFiringMeansNoCallback() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        var fired = false
        try timer.start(timeoutMs: 1) { _ in fired = true }
        timer.stop()
        runWithDeadline(loop)
        #expect(!fired)
        timer.close()
        expectCleanClose(loop)
    }

    @Test func unreferencedTimerDoesNotKeepTheLoopRunning() throws {
        let loop = try UVLoop()
        let timer = try UVTimer(loop: loop)
        try timer.start(timeoutMs: 60_000) { _ in }
        timer.unref()
        #expect(!timer.hasRef)
        #expect(loop.run() == false)
        timer.close()
        expectCleanClose(loop)
    }
}
