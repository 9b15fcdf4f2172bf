import Foundation
import SmrtJobs
import Testing
@testable import SmrtJobsMemory

/// What only the memory backend promises: shared connections, its change signal, thread safety. (Everything
/// a store must do is in the conformance suite, which runs against it too.)
@Suite struct MemoryBackendTests {
    /// Counts `onChange` calls; waits for the count to pass a value, with a deadline.
    final class Changes: Sendable {
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

    let spec = JobSpec(objectType: "Doc", method: "run")

    @Test func storesOfOneBackendShareTheData() throws {
        let backend = MemoryBackend()
        let app = try backend.openStore()
        let runner = try backend.openStore()
        let job = try app.enqueue(spec, now: Date())
        #expect(try runner.claim(workerId: "w", limit: 5, queues: nil, now: Date()).map(\.id) == [job.id])
        #expect(try app.get(id: job.id)?.status == .running)
        // Another backend is another database.
        #expect(try MemoryBackend().openStore().get(id: job.id) == nil)
        #expect(try MemoryJobStore().get(id: job.id) == nil)
        #expect(backend.checkHealth() == nil)
        #expect(MemoryBackend(name: "tests").displayName == "memory:tests")
    }

    @Test func changeSignalFiresWhenAnyConnectionCommits() throws {
        let backend = MemoryBackend()
        let stores = [try backend.openStore(), try backend.openStore()]
        let signal = try backend.makeChangeSignal()
        let changes = Changes()
        try signal.start { changes.record() }
        defer { signal.stop() }
        for round in 0..<4 {
            let before = changes.value
            _ = try stores[round % 2].enqueue(spec, now: Date())
            #expect(changes.wait(above: before), "round \(round): no change reported within 10 s")
        }
    }

    @Test func writesThatChangeNothingAreNoCommitToReport() throws {
        let store = MemoryJobStore()
        func revision() throws -> UInt64 { try store.database.read { $0.revision } }
        let start = try revision()
        _ = try store.claim(workerId: "w", limit: 5, queues: nil, now: Date())
        try store.heartbeat(workerId: "w", now: Date())
        try store.heartbeatWorker(id: "w", now: Date())
        try store.removeWorker(id: "w")
        #expect(try store.release(jobIds: [1], workerId: "w", now: Date()) == 0)
        #expect(try store.cleanup(CleanupOptions(completedBefore: Date()), now: Date()) == 0)
        #expect(throws: SmrtJobsError.jobNotFound(1)) { try store.cancel(id: 1, now: Date()) }
        #expect(try revision() == start)
        _ = try store.enqueue(spec, now: Date())
        #expect(try revision() > start)
    }

    @Test func pausedSignalReportsAMissedChangeWhenResumed() throws {
        let backend = MemoryBackend()
        let store = try backend.openStore()
        let signal = try backend.makeChangeSignal()
        let changes = Changes()
        try signal.start { changes.record() }
        defer { signal.stop() }
        signal.setActive(false)
        let before = changes.value
        _ = try store.enqueue(spec, now: Date())
        signal.setActive(true)
        #expect(changes.wait(above: before))
    }

    @Test func stopIsIdempotentAndWorksWithoutStart() throws {
        let backend = MemoryBackend()
        let unused = try backend.makeChangeSignal()
        unused.stop()
        unused.stop()
        let signal = try backend.makeChangeSignal()
        let changes = Changes()
        try signal.start { changes.record() }
        signal.stop()
        signal.stop()
        // Once stopped, commits are not reported.
        _ = try backend.openStore().enqueue(spec, now: Date())
        #expect(changes.value == 0)
    }

    @Test func theSignalMayCallTheStoreFromOnChange() throws {
        let backend = MemoryBackend()
        let store = try backend.openStore()
        let signal = try backend.makeChangeSignal()
        let seen = Locked<[Int]>([])
        // The data lock is not held while onChange runs: reading the store here does not deadlock.
        try signal.start { seen.withLock { $0.append((try? store.stats(queue: nil).pending) ?? -1) } }
        defer { signal.stop() }
        _ = try store.enqueue(spec, now: Date())
        let deadline = Date().addingTimeInterval(10)
        while seen.withLock({ $0.isEmpty }) && Date() < deadline { usleep(1000) }
        #expect(seen.withLock { $0.first } == 1)
    }

    @Test func concurrentConnectionsNeverClaimTheSameJob() async throws {
        let backend = MemoryBackend()
        let ids = try backend.openStore().enqueue(batch: Array(repeating: spec, count: 2000), now: Date())
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<4 {
                let store = try backend.openStore()
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let jobs = try store.claim(workerId: "w\(worker)", limit: 7, queues: nil, now: Date())
                        if jobs.isEmpty { return mine }
                        mine += jobs.map(\.id)
                        _ = try store.finish(
                            jobs.map { AttemptReport(jobId: $0.id, outcome: .completed(result: nil)) }, workerId: "w\(worker)",
                            now: Date())
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claimed.count == ids.count)
        #expect(Set(claimed) == Set(ids))
        #expect(try backend.openStore().stats(queue: nil) == JobStats(completed: ids.count))
    }
}
