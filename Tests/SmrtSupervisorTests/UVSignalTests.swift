import Foundation
import Testing
@testable import SmrtSupervisor

@Suite struct UVSignalTests {
    @Test func signalFromAnotherThreadRunsTheCallbackOnTheLoopThread() throws {
        let loop = try UVLoop()
        let watcher = try UVSignal(loop: loop)
        let loopThread = pthread_self()
        var received: [Int32] = []
        var onLoopThread = false
        try watcher.start(SIGUSR1) { watcher, signum in
            received.append(signum)
            onLoopThread = pthread_equal(pthread_self(), loopThread) != 0
            watcher.close()
        }
        #expect(watcher.signum == SIGUSR1)
        let sender = Thread { _ = kill(getpid(), SIGUSR1) }
        sender.start()
        runWithDeadline(loop)
        #expect(received == [SIGUSR1])
        #expect(onLoopThread)
        expectCleanClose(loop)
    }

    @Test func oneShotWatcherStopsAfterTheFirstSignal() throws {
        let loop = try UVLoop()
        let watcher = try UVSignal(loop: loop)
        var count = 0
        try watcher.startOneShot(SIGUSR2) { _, _ in count += 1 }
        let raiser = try UVTimer(loop: loop)
        try raiser.start(timeoutMs: 0) { timer in
            // Process-directed, not raise(): test threads are libdispatch workers, which block
            // SIGUSR1/SIGUSR2, so a thread-directed signal would stay pending on this thread.
            _ = kill(getpid(), SIGUSR2)
            timer.close()
        }
        runWithDeadline(loop)
        #expect(count == 1)
        #expect(!watcher.isActive)
        watcher.close()
        expectCleanClose(loop)
    }
}
