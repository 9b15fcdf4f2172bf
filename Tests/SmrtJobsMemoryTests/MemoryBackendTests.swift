import Foundation
import SmrtJobs
import Testing
@testable import SmrtJobsMemory

/// What only the memory backend promises: shared connections, no commit for writes that change nothing,
/// thread safety. (Everything a store and its change signal must do is in the conformance suite, which runs
/// against it too.)
@Suite struct MemoryBackendTests {
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

    @Test func writesThatChangeNothingAreNoCommitToReport() throws {
        let store = MemoryJobStore()
        func revision() throws -> UInt64 { try store.database.read { $0.revision } }
        let start = try revision()
        _ = try store.claim(workerId: "w", limit: 5, queues: nil, now: Date())
        try store.heartbeat(workerId: "w", now: Date())
        try store.heartbeatWorker(id: "w", now: Date(), expiresAt: Date())
        try store.removeWorker(id: "w")
        #expect(try store.release(jobIds: [1], workerId: "w", now: Date()) == 0)
        #expect(try store.cleanup(CleanupOptions(completedBefore: Date()), now: Date()) == 0)
        #expect(throws: SmrtJobsError.jobNotFound(1)) { try store.cancel(id: 1, now: Date()) }
        #expect(try revision() == start)
        _ = try store.enqueue(spec, now: Date())
        #expect(try revision() > start)
    }

    /// Progress wakes no claimer: it is stored without a commit the change signal reports.
    @Test func progressMovesNoRevision() throws {
        let store = MemoryJobStore()
        func revision() throws -> UInt64 { try store.database.read { $0.revision } }
        let job = try store.enqueue(spec, now: Date())
        _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: Date())
        let before = try revision()
        let progress = JobProgress(fraction: 0.5, message: "half", updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try store.recordProgress([ProgressUpdate(jobId: job.id, progress: progress)], workerId: "w") == 1)
        #expect(try revision() == before)
        #expect(try store.get(id: job.id)?.progress == progress)
    }
}
