import Foundation
@testable import SmrtJobs
import SmrtJobsPostgres
import Testing

/// The async app API on PostgreSQL: `JobHandle.wait()` wakes on the NOTIFY of the job's end, sent by another
/// connection (another host's supervisor), not on its poll.
@Suite(
    "PostgreSQL job queue",
    .enabled(if: PostgresTestServer.isRequested, "SMRT_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)"))
struct PostgresJobQueueTests {
    @Test func waitWakesOnTheNotificationOfTheJobsEnd() async throws {
        let base = try PostgresTestServer.requireURL()
        let schema = PostgresTestServer.freshSchemaName()
        defer { _ = try? PostgresTestServer.adminConnection().exec("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        let backend = try PostgresBackend(url: PostgresTestServer.url(base, schema: schema))
        let queue = try await JobQueue(backend: backend)
        let handle = try await queue.background("Doc", "run").enqueue()
        // The "other host": a connection of its own claims and completes the job while the wait is parked.
        let elsewhere = try backend.openStore()
        let started = ContinuousClock.now
        async let outcome = handle.wait(timeout: .seconds(60), pollInterval: .seconds(45))
        let deadline = ContinuousClock.now + .seconds(30)
        while !(queue.changes.isSignalRunning && queue.changes.parkedCount == 1) {
            try #require(ContinuousClock.now < deadline, "the waiter never parked on a running change signal")
            try await Task.sleep(for: .milliseconds(10))
        }
        let claimed = try elsewhere.claim(workerId: "elsewhere:1:x", limit: 1, queues: nil, now: Date())
        #expect(claimed.map(\.id) == [handle.id])
        try elsewhere.complete(id: handle.id, workerId: "elsewhere:1:x", result: .string("done"))
        let result = try await outcome
        #expect(result.success)
        #expect(result.result == .string("done"))
        // Well before the 45 s poll (not a few ms: a starved cooperative pool can delay the resumed task).
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(30), "took \(elapsed)")
        await queue.close()
    }
}
