import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// The minimal worker printed in docs/worker-protocol.md (§8), run as printed: its job thread lets it see
    /// CANCEL and SHUTDOWN while a job runs.
    @Suite struct MinimalWorker {
        /// The Python program of §8 (the block after its marker), written to a file of `db`'s directory.
        static func workerFromTheDocs(_ db: TestDatabase) throws -> String {
            let doc = try String(
                contentsOf: WorkerHarness.packageRoot.appendingPathComponent("docs/worker-protocol.md"), encoding: .utf8)
            let marker = try #require(doc.range(of: "<!-- minimal-worker.py: tested as written -->\n```python\n"))
            let end = try #require(doc.range(of: "\n```", range: marker.upperBound..<doc.endIndex))
            let path = db.file("minimal_worker.py")
            try String(doc[marker.upperBound..<end.lowerBound]).write(toFile: path, atomically: true, encoding: .utf8)
            return "python3 \(path)"
        }

        @Test func runsJobsAndAnswersUnknownMethodsFinally() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let sleep = try db.enqueue("sleep", ["ms": 20, "_agentConfig": ["unused": true]], type: "Mini")
                let unknown = try db.enqueue("nope", type: "Mini", maxAttempts: 3)
                let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: try Self.workerFromTheDocs(db))
                #expect(try db.waitFor(sleep, .completed, log: supervisor).result == ["slept": 20])
                let failed = try db.waitFor(unknown, .failed, log: supervisor)
                #expect(failed.lastError == "Method not found: Mini.nope")
                #expect(failed.attempts == 1)
            }
        }

        /// A cancelled job gets CANCEL at the next heartbeat; the worker's job thread stops and answers, and the
        /// same worker takes the next job: no kill at the end of the grace.
        @Test func seesCancelWhileAJobRuns() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let id = try db.enqueue("sleep", ["ms": 60_000], type: "Mini", timeout: 120_000)
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, workerExec: try Self.workerFromTheDocs(db),
                    arguments: ["--heartbeat-interval", "200", "--cancel-grace", "10000"])
                let started = try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
                _ = try db.store.cancel(id: id, now: Date())
                try supervisor.waitFor("job_cancelled", timeout: 5) { $0["job_id"] as? Int == Int(id) }
                try supervisor.waitFor("job_not_owned", timeout: 5) { $0["job_id"] as? Int == Int(id) }
                let next = try db.enqueue("sleep", ["ms": 1], type: "Mini")
                let nextStarted = try supervisor.waitFor("job_started", timeout: 5) { $0["job_id"] as? Int == Int(next) }
                #expect(nextStarted["worker_pid"] as? Int == started["worker_pid"] as? Int)
                try db.waitFor(next, .completed, log: supervisor)
                #expect(supervisor.events("worker_exited").isEmpty)
                #expect(try db.job(id).status == .cancelled)
            }
        }

        /// SHUTDOWN while a job runs: the worker finishes the job, sends its result and exits 0.
        @Test func finishesTheRunningJobOnShutdown() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let id = try db.enqueue("sleep", ["ms": 600], type: "Mini")
                let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: try Self.workerFromTheDocs(db))
                try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
                #expect(try db.job(id).status == .completed)
                let exited = try #require(supervisor.events("worker_exited").first)
                #expect(exited["status"] as? String == "exited with code 0")
            }
        }
    }
}
