import Foundation
import SmrtJobs
import Testing

/// The backend's change signal: what `JobQueue.wait()` and the supervisor rely on to wake without polling.
extension StoreConformance {
    static let changeSignalChecks: [ConformanceCheck] = [
        ConformanceCheck("changeSignalFiresWhenAnyConnectionCommits", changeSignalFiresWhenAnyConnectionCommits),
        ConformanceCheck("pausedSignalReportsAMissedChangeWhenResumed", pausedSignalReportsAMissedChangeWhenResumed),
        ConformanceCheck("stoppedSignalIsQuietAndStopIsIdempotent", stoppedSignalIsQuietAndStopIsIdempotent),
        ConformanceCheck("onChangeMayCallTheStore", onChangeMayCallTheStore),
    ]

    /// Counts `onChange` calls, and waits (with a deadline) for the count to pass a value.
    final class ChangeCounter: Sendable {
        private let count = Locked(0)
        func record() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
        func wait(above previous: Int, seconds: Double = 10) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if value > previous { return true }
                usleep(1000)
            }
            return false
        }
    }

    static func changeSignalFiresWhenAnyConnectionCommits(_ factory: StoreFactory) throws {
        try factory.withBackend { backend in
            let stores = [try backend.openStore(), try backend.openStore()]
            let signal = try backend.makeChangeSignal()
            let changes = ChangeCounter()
            try signal.start { changes.record() }
            defer { signal.stop() }
            for round in 0..<4 {
                let before = changes.value
                _ = try stores[round % 2].enqueue(spec(), now: t0)
                #expect(changes.wait(above: before), "round \(round): no change reported within 10 s")
            }
        }
    }

    static func pausedSignalReportsAMissedChangeWhenResumed(_ factory: StoreFactory) throws {
        try factory.withBackend { backend in
            let store = try backend.openStore()
            let signal = try backend.makeChangeSignal()
            let changes = ChangeCounter()
            try signal.start { changes.record() }
            defer { signal.stop() }
            signal.setActive(false)
            let before = changes.value
            _ = try store.enqueue(spec(), now: t0)
            signal.setActive(true)
            #expect(changes.wait(above: before), "a commit made while paused is reported on resume")
        }
    }

    static func stoppedSignalIsQuietAndStopIsIdempotent(_ factory: StoreFactory) throws {
        try factory.withBackend { backend in
            let store = try backend.openStore()
            let unused = try backend.makeChangeSignal()
            unused.stop()
            unused.stop()
            let signal = try backend.makeChangeSignal()
            let changes = ChangeCounter()
            try signal.start { changes.record() }
            signal.stop()
            signal.stop()
            let before = changes.value
            _ = try store.enqueue(spec(), now: t0)
            // Nothing to wait for: stop returned, so no call may come any more.
            #expect(changes.value == before)
        }
    }

    static func onChangeMayCallTheStore(_ factory: StoreFactory) throws {
        try factory.withBackend { backend in
            let store = try backend.openStore()
            let reader = try backend.openStore()
            let signal = try backend.makeChangeSignal()
            let seen = Locked<[Int]>([])
            // A listener reads the store when told: the signal must not hold anything the store needs meanwhile.
            try signal.start { seen.withLock { $0.append((try? reader.stats(queue: nil).pending) ?? -1) } }
            defer { signal.stop() }
            _ = try store.enqueue(spec(), now: t0)
            let deadline = Date().addingTimeInterval(10)
            while seen.withLock({ $0.isEmpty }) && Date() < deadline { usleep(1000) }
            #expect(seen.withLock { $0.first } == 1)
        }
    }
}
