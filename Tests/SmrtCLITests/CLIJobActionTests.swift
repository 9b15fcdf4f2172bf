import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

@Suite("CLI retry, cancel, wait, prune")
struct CLIJobActionTests {
    static let worker = "cli-test-worker"

    /// Claims the job (it must be due) so the test can finish it as a worker would.
    static func claim(_ store: SQLiteJobStore, _ id: Int64) throws {
        let claimed = try store.claim(workerId: worker, limit: 1, queues: nil, now: Date())
        #expect(claimed.map(\.id) == [id])
    }

    @Test func cancelThenRetry() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        let cancel = try sandbox.run("cancel", String(id))
        #expect(cancel.status == 0, "\(cancel)")
        #expect(cancel.stdout.contains("job \(id) cancelled"))
        let store = try sandbox.store()
        #expect(try store.get(id: id)?.status == .cancelled)
        #expect(try store.get(id: id)?.completedAt != nil)

        expectFailure(try sandbox.run("cancel", String(id)), mentioning: ["cannot cancel job \(id): it is cancelled"])

        let retry = try sandbox.run("retry", String(id))
        #expect(retry.status == 0, "\(retry)")
        let job = try #require(try store.get(id: id))
        #expect(job.status == .pending)
        #expect(job.completedAt == nil)
        #expect(job.attempts == 0)
    }

    @Test func retryAFailedJob() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        let store = try sandbox.store()
        try Self.claim(store, id)
        try store.fail(id: id, workerId: Self.worker, error: "boom", retryAt: nil, now: Date())
        #expect(try store.get(id: id)?.status == .failed)
        let result = try sandbox.run("retry", String(id), "--json")
        #expect(result.status == 0, "\(result)")
        let json = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect(json["status"] as? String == "pending")
        #expect((json["attempts"] as? NSNumber)?.intValue == 0)
        #expect(json["lastError"] is NSNull)
    }

    @Test func completedJobCannotBeCancelledOrRetried() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        let store = try sandbox.store()
        try Self.claim(store, id)
        try store.complete(id: id, workerId: Self.worker, now: Date())
        expectFailure(try sandbox.run("cancel", String(id)), mentioning: ["cannot cancel job \(id): it is completed"])
        expectFailure(try sandbox.run("retry", String(id)), mentioning: ["cannot retry job \(id): it is completed"])
        #expect(try store.get(id: id)?.status == .completed)
    }

    @Test(arguments: ["cancel", "retry", "wait"])
    func unknownJob(command: String) throws {
        let sandbox = try Sandbox()
        _ = try sandbox.enqueue("A", "m")
        expectFailure(try sandbox.run(command, "99"), mentioning: ["job 99 not found"])
        let empty = try Sandbox()
        expectFailure(try empty.run(command, "99"), mentioning: ["no such database: \(empty.dbPath)"])
        #expect(!empty.dbExists)
    }

    @Test func waitForAJobCompletedMeanwhile() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        let waiting = try CLI.start(["wait", String(id), "--timeout", "20000", "--db", sandbox.dbPath])
        #expect(waiting.waitUntilOpened(sandbox.dbPath), "wait never opened the database")
        let store = try sandbox.store()
        try Self.claim(store, id)
        #expect(
            try store.complete(id: id, workerId: Self.worker, result: ["ok": true], resultPointer: "s3://out/1", now: Date())
                == .completed)
        let result = try waiting.finish()
        #expect(result.status == 0, "\(result)")
        #expect(result.lines.first == "job \(id) completed")
        #expect(result.stdout.contains(#"result: {"ok":true}"#))
        #expect(result.stdout.contains("resultPointer: s3://out/1"))
    }

    @Test func waitForAFailedJob() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        let waiting = try CLI.start(["wait", String(id), "--db", sandbox.dbPath])
        #expect(waiting.waitUntilOpened(sandbox.dbPath), "wait never opened the database")
        let store = try sandbox.store()
        try Self.claim(store, id)
        #expect(try store.fail(id: id, workerId: Self.worker, error: "boom", retryAt: nil, now: Date()) == .failed)
        let result = try waiting.finish()
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("job \(id) failed: boom"))
    }

    @Test func waitForACancelledJobAndJSON() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        _ = try sandbox.run("cancel", String(id))
        let result = try sandbox.run("wait", String(id), "--json")
        #expect(result.status == 1, "\(result)")
        let json = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect(json["status"] as? String == "cancelled")
        #expect(json["success"] as? Bool == false)
    }

    @Test func waitTimesOutWithExit3() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m")
        let started = Date()
        let result = try sandbox.run("wait", String(id), "--timeout", "300")
        expectFailure(result, status: 3, mentioning: ["Timeout waiting for job \(id)"])
        #expect(Date().timeIntervalSince(started) < 10)
        expectFailure(try sandbox.run("wait", String(id), "--timeout", "-5"), mentioning: ["invalid timeout '-5'"])
    }

    @Test func pruneDryRunThenReal() throws {
        let sandbox = try Sandbox()
        let done = try sandbox.enqueue("A", "m")
        let cancelled = try sandbox.enqueue("A", "m", "--delay", "1h")
        let pending = try sandbox.enqueue("A", "m", "--delay", "1h")
        let store = try sandbox.store()
        try Self.claim(store, done)
        try store.complete(id: done, workerId: Self.worker, now: Date())
        _ = try sandbox.run("cancel", String(cancelled))

        // Finished just now: not older than 7 days.
        #expect(try sandbox.run("prune", "--completed-before", "7d", "--cancelled-before", "7d").stdout
            == "deleted 0 jobs\n")

        let dry = try sandbox.run("prune", "--completed-before", "2099-01-01T00:00:00Z", "--dry-run")
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout == "would delete 1 job\n")
        #expect(try store.get(id: done) != nil)

        let dryAll = try sandbox.run(
            "prune", "--completed-before", "2099-01-01T00:00:00Z", "--cancelled-before", "0", "--dry-run")
        #expect(dryAll.stdout == "would delete 2 jobs\n")

        let real = try sandbox.run("prune", "--completed-before", "2099-01-01T00:00:00Z", "--cancelled-before", "0")
        #expect(real.stdout == "deleted 2 jobs\n")
        #expect(try store.get(id: done) == nil)
        #expect(try store.get(id: cancelled) == nil)
        #expect(try store.get(id: pending)?.status == .pending)
    }

    @Test func pruneErrors() throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run("prune"), status: 2, mentioning: ["--completed-before"])
        expectFailure(
            try sandbox.run("prune", "--failed-before", "last week"), mentioning: ["invalid --failed-before 'last week'"])
        #expect(!sandbox.dbExists)
        expectFailure(try sandbox.run("prune", "--failed-before", "1d"), mentioning: ["no such database: \(sandbox.dbPath)"])
        #expect(!sandbox.dbExists)
        _ = try sandbox.store()
        #expect(try sandbox.run("prune", "--failed-before", "1d").stdout == "deleted 0 jobs\n")
    }
}
