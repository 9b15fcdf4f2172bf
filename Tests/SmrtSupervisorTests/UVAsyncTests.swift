import Foundation
import Testing
@testable import SmrtSupervisor

@Suite struct UVAsyncTests {
    @Test func sendsFromFourThreadsWakeTheLoopUntilClosed() throws {
        let loop = try UVLoop()
        let threads = 4
        let sendsPerThread = 2_000
        let finished = LockedCounter()
        var wakeUps = 0
        let async = try UVAsync(loop: loop) { async in
            wakeUps += 1
            if finished.value == threads { async.close() }
        }
        for _ in 0..<threads {
            Thread {
                for _ in 0..<sendsPerThread { async.send() }
                finished.increment()
                // A send after the count guarantees one more callback that sees it.
                async.send()
            }.start()
        }
        #expect(runWithDeadline(loop))
        #expect(finished.value == threads)
        #expect(wakeUps >= 1)
        #expect(wakeUps <= threads * (sendsPerThread + 1))
        #expect(async.isClosed)
        #expect(async.send() == false)
        expectCleanClose(loop)
    }

    @Test func sendAfterCloseIsRefused() throws {
        let loop = try UVLoop()
        var wakeUps = 0
        let async = try UVAsync(loop: loop) { _ in wakeUps += 1 }
        #expect(async.send())
        async.close()
        #expect(async.send() == false)
        runWithDeadline(loop)
        #expect(wakeUps == 0)  // close wins over a pending wake-up: no callback after close()
        expectCleanClose(loop)
    }
}
