import Foundation
import SmrtJobs
import SmrtJobsConformance
@testable import SmrtJobsPostgres
import Testing

/// What only PostgreSQL promises about the operator surface: the migration to schema 3, and progress that sends
/// no notification. (The behaviour every store shares is in the conformance suite.)
@Suite(
    "PostgreSQL monitoring",
    .enabled(if: PostgresTestServer.isRequested, "SMRT_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)"))
struct PostgresMonitoringTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A queue of schema 2 gains the progress, worker pid and exit, and stats columns and the failed and cancelled
    /// indexes; its jobs and leases stay, with none of the new values.
    @Test func aVersionTwoSchemaIsMigrated() async throws {
        try await BlockingWork.run {
            let base = try PostgresTestServer.requireURL()
            let schema = PostgresTestServer.freshSchemaName()
            defer { _ = try? PostgresTestServer.adminConnection().exec("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
            let url = PostgresTestServer.url(base, schema: schema)
            let old = try PostgresConnection(settings: PostgresSettings(url: url))
            try old.exec("CREATE SCHEMA \(schema)")
            for step in PostgresSchema.migrations.prefix(2) { try old.exec(step) }
            try old.exec(
                """
                CREATE TABLE _smrt_schema_version (version bigint NOT NULL); INSERT INTO _smrt_schema_version VALUES (2);
                INSERT INTO _smrt_jobs (queue, object_type, method, run_at, status, attempts, last_error, completed_at, \
                created_at, updated_at, worker_id) VALUES ('mail', 'Mailer', 'send', '2027-01-15 08:00:00+00', 'failed', 3, \
                'smtp down', '2027-01-15 08:00:05+00', '2027-01-15 08:00:00+00', '2027-01-15 08:00:05+00', 'sup-1');
                INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat, expires_at) VALUES \
                ('sup-1', 7, 'h', '2027-01-15 08:00:00+00', '2027-01-15 08:00:00+00', '2027-01-15 08:00:30+00');
                """)
            let store = try PostgresBackend(url: url).openPostgresStore()
            #expect(try store.schemaVersion() == 3)
            let id = try #require(try store.list(JobQuery()).first?.id)
            let job = try #require(try store.get(id: id))
            #expect(job.status == .failed && job.lastError == "smtp down" && job.workerId == "sup-1")
            #expect(job.progress == nil && job.workerPid == nil && job.workerExit == nil)
            #expect(try store.listWorkers().map(\.id) == ["sup-1"] && store.listWorkers().first?.stats == nil)
            #expect(try store.jobPage(JobPageQuery(statuses: [.failed])).jobs.map(\.id) == [id])
            let indexes = try old.query("SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", [schema]).rows
                .compactMap { $0.string(0) }
            #expect(indexes.contains("_smrt_jobs_failed") && indexes.contains("_smrt_jobs_cancelled"), "\(indexes)")
        }
    }

    /// A change signal listening on the queue hears nothing of progress, alone or in a group commit with nothing
    /// else to finish, and still hears the completion that follows (so its silence means something).
    @Test func progressSendsNoNotification() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, schema in
                let store = try backend.openPostgresStore()
                let job = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: Self.t0)
                let signal = try backend.makeChangeSignal()
                let count = Locked(0)
                try signal.start { count.withLock { $0 += 1 } }
                defer { signal.stop() }
                let listen = "LISTEN \"smrt_jobs_\(schema)\""
                #expect(try PostgresTestServer.eventually(within: 5) { try PostgresTestServer.sessions(running: listen) == 1 })
                let start = count.withLock { $0 }
                let progress = JobProgress(fraction: 0.5, message: "half", updatedAt: Self.t0)
                #expect(try store.recordProgress([ProgressUpdate(jobId: job.id, progress: progress)], workerId: "w") == 1)
                _ = try store.finish(
                    [], recordingProgress: [ProgressUpdate(jobId: job.id, progress: progress)], workerId: "w", now: Self.t0,
                    thenClaim: 1, queues: nil)
                // Watched for 300 ms (a notification arrives within a few ms): silent.
                #expect(!PostgresTestServer.eventually(within: 0.3) { count.withLock { $0 } > start })
                _ = try store.complete(id: job.id, workerId: "w", now: Self.t0)
                #expect(PostgresTestServer.eventually(within: 2) { count.withLock { $0 } > start })
            }
        }
    }
}
