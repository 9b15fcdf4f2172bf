import Foundation
import SmrtJobsConformance
import Testing

extension IntegrationTests.PostgreSQL {
    /// Progress on PostgreSQL: visible while the job runs, the last value before the result, at most a write a
    /// second (counted on the store calls).
    @Test func progressIsStoredAtMostOncePerSecond() async throws {
        try await BlockingWork.run {
            let db = try PostgresTestDatabase()
            try IntegrationTests.Monitoring.expectProgressStoredAtMostOncePerSecond(store: db.queueStore, backend: db.backend)
        }
    }

    /// The lease row on PostgreSQL carries the supervisor's snapshot: finished counts, worker exits (a crash is
    /// `signal`, a kill timeout `timeout_kill`), worker memory and the histograms; jobs say how their worker ended.
    @Test func leaseRowPublishesCountsWorkersAndHowAttemptsEnded() async throws {
        try await BlockingWork.run {
            let db = try PostgresTestDatabase()
            try IntegrationTests.Monitoring.expectTheLeaseRowPublishesTheSupervisor(store: db.queueStore, backend: db.backend)
        }
    }
}
