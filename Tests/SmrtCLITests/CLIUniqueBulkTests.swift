import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsSQLite
import Testing

/// A database the CLI runs on, for tests that run the same steps on SQLite and PostgreSQL.
private protocol CLIDatabase: AnyObject {
    var db: String { get }
    /// Makes the jobs failed for good, finished `ago` seconds before now (the tests' own channel, not the CLI).
    func fail(_ ids: [Int64], finishedAgo ago: Int) throws
}

extension Sandbox: CLIDatabase {
    var db: String { dbPath }
    func fail(_ ids: [Int64], finishedAgo ago: Int) throws {
        try store().withConnection { connection in
            for id in ids {
                try connection.run(
                    "UPDATE _smrt_jobs SET status = 'failed', last_error = 'boom', completed_at = ?1, updated_at = ?1 WHERE id = ?2"
                ) { s in
                    try s.bind(Date().addingTimeInterval(-Double(ago)), 1)
                    try s.bind(id, 2)
                }
            }
        }
    }
}

extension PostgresSandbox: CLIDatabase {
    var db: String { url }
    func fail(_ ids: [Int64], finishedAgo ago: Int) throws {
        try CLIPostgres.psql(
            """
            UPDATE \(schema)._smrt_jobs SET status = 'failed', last_error = 'boom', \
            completed_at = now() - interval '\(ago) seconds', updated_at = now() - interval '\(ago) seconds' \
            WHERE id IN (\(ids.map(String.init).joined(separator: ",")))
            """)
    }
}

/// The steps, on either database.
private enum UniqueBulkSteps {
    static func run(_ database: CLIDatabase, _ args: [String], stdin: String? = nil) throws -> CLIResult {
        try CLI.run(args + ["--db", database.db], stdin: stdin, deadline: 60)
    }

    static func enqueue(_ database: CLIDatabase, _ args: [String]) throws -> (id: Int64, existing: Bool) {
        let result = try run(database, ["enqueue"] + args)
        guard result.status == 0, let id = Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLIHarnessError(description: "enqueue \(args) failed: \(result)")
        }
        return (id, result.stderr.contains("existing"))
    }

    static func status(_ database: CLIDatabase, _ id: Int64) throws -> String? {
        let result = try run(database, ["show", String(id), "--json"])
        return (try parseJSON(result.stdout) as? [String: Any])?["status"] as? String
    }

    static func jobCount(_ database: CLIDatabase) throws -> Int {
        let result = try run(database, ["stats", "--json"])
        guard let object = try parseJSON(result.stdout) as? [String: Any] else { return -1 }
        return ["pending", "running", "completed", "failed", "cancelled"].reduce(0) { $0 + ((object[$1] as? Int) ?? 0) }
    }

    /// `--unique-key`: existing jobs come back with their id (stderr "existing", exit 0); the batch field too.
    static func uniqueKeys(_ database: CLIDatabase) throws {
        let first = try run(database, ["enqueue", "Doc", "run", "--unique-key", "doc-1"])
        #expect(first.status == 0 && first.stderr.isEmpty, "\(first)")
        let again = try run(database, ["enqueue", "Doc", "render", "--unique-key", "doc-1", "--queue", "other"])
        #expect(again.status == 0 && again.stdout == first.stdout, "\(again)")
        #expect(again.stderr.contains("existing") && again.stderr.contains("doc-1"), "\(again)")
        let id = try #require(Int64(first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let batch = """
            {"objectType":"Doc","method":"run","uniqueKey":"doc-2"}
            {"objectType":"Doc","method":"run","uniqueKey":"doc-1"}
            {"objectType":"Doc","method":"run"}
            {"objectType":"Doc","method":"run","uniqueKey":"doc-2","uniqueWindow":"1h"}
            """
        let batched = try run(database, ["enqueue", "--batch", "-"], stdin: batch)
        #expect(batched.status == 0, "\(batched)")
        let ids = batched.lines.compactMap { Int64($0) }
        #expect(ids.count == 4 && ids[1] == id && ids[3] == ids[0] && Set(ids).count == 3, "\(batched)")
        #expect(batched.stderr.components(separatedBy: "existing").count - 1 == 2, "\(batched)")

        // Cancelled frees the key; with a window the cancelled job still counts.
        _ = try run(database, ["cancel", String(id)])
        let windowed = try enqueue(database, ["Doc", "run", "--unique-key", "doc-1", "--unique-window", "1h"])
        #expect(windowed.id == id && windowed.existing)
        let fresh = try enqueue(database, ["Doc", "run", "--unique-key", "doc-1"])
        #expect(fresh.id != id && !fresh.existing)
        // Retrying the cancelled job while the new one holds the key is refused, naming both.
        let refused = try run(database, ["retry", String(id)])
        expectFailure(refused, status: 1, mentioning: ["unique key 'doc-1'", "job \(fresh.id)"])

        expectFailure(try run(database, ["enqueue", "Doc", "run", "--unique-key", ""]), mentioning: ["uniqueKey"])
        expectFailure(
            try run(database, ["enqueue", "Doc", "run", "--unique-key", String(repeating: "k", count: 256)]),
            mentioning: ["uniqueKey", "255"])
        expectFailure(try run(database, ["enqueue", "Doc", "run", "--unique-window", "1h"]), status: 2, mentioning: ["--unique-window"])
        expectFailure(
            try run(database, ["enqueue", "Doc", "run", "--unique-key", "k", "--unique-window", "soon"]),
            mentioning: ["uniqueWindow"])
    }

    /// Four processes enqueue the same key at once, a few rounds: one job per key, every process prints its id.
    static func concurrentEnqueuers(_ database: CLIDatabase) throws {
        _ = try enqueue(database, ["Setup", "run"])  // the schema exists before the race
        for round in 0..<3 {
            let key = "race-\(round)"
            let processes = try (0..<4).map { _ in
                try CLI.start(["enqueue", "Race", "run", "--unique-key", key, "--db", database.db])
            }
            let results = try processes.map { try $0.finish(deadline: 60) }
            for result in results { #expect(result.status == 0, "\(result)") }
            let ids = Set(results.map { $0.stdout.trimmingCharacters(in: .whitespacesAndNewlines) })
            #expect(ids.count == 1, "\(results)")
            #expect(results.filter { $0.stderr.contains("existing") }.count == 3, "\(results)")
        }
        #expect(try jobCount(database) == 4)
    }

    /// Bulk retry and cancel with filters, dry runs, JSON, and batches past 1,000.
    static func bulkActions(_ database: CLIDatabase) throws {
        let ids = try [
            ["Doc", "run"], ["Doc", "run"], ["Doc", "render"], ["Img", "run", "--queue", "other"], ["Doc", "run"],
        ].map { try enqueue(database, $0).id }
        try database.fail([ids[0]], finishedAgo: 7_200)
        try database.fail([ids[1], ids[2], ids[3]], finishedAgo: 600)

        func expectOutput(_ args: [String], _ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try run(database, args)
            #expect(result.status == 0 && result.stdout == line + "\n", "\(args): \(result)", sourceLocation: sourceLocation)
        }
        try expectOutput(["retry", "--status", "failed", "--dry-run"], "would retry 4 jobs")
        try expectOutput(["retry", "--status", "failed", "--queue", "other", "--dry-run"], "would retry 1 job")
        try expectOutput(["retry", "--status", "failed", "--since", "1h", "--dry-run"], "would retry 3 jobs")
        for id in ids[0...3] { #expect(try status(database, id) == "failed") }

        try expectOutput(["retry", "--status", "failed", "--type", "Doc.run", "--since", "1h"], "retried 1 job")
        #expect(try status(database, ids[1]) == "pending" && status(database, ids[0]) == "failed")
        let json = try run(database, ["retry", "--status", "failed", "--type", "Doc", "--json"])
        let object = try #require(try parseJSON(json.stdout) as? [String: Any], "\(json)")
        #expect(object["count"] as? Int == 2 && object["dryRun"] as? Bool == false && object["skipped"] as? Int == 0)
        #expect(try status(database, ids[0]) == "pending" && status(database, ids[2]) == "pending")
        #expect(try status(database, ids[3]) == "failed")

        try expectOutput(["cancel", "--status", "pending", "--queue", "default", "--dry-run"], "would cancel 4 jobs")
        try expectOutput(["cancel", "--status", "failed", "--type", "Img.run"], "cancelled 1 job")
        try expectOutput(["cancel", "--status", "pending", "--type", "Doc.render"], "cancelled 1 job")
        try expectOutput(["retry", "--status", "cancelled", "--queue", "other"], "retried 1 job")
        #expect(try status(database, ids[3]) == "pending")

        // More than one batch: 2,500 jobs.
        let lines = Array(repeating: #"{"objectType":"Bulk","method":"go","queue":"bulk"}"#, count: 2_500).joined(separator: "\n")
        let enqueued = try run(database, ["enqueue", "--batch", "-"], stdin: lines)
        #expect(enqueued.status == 0 && enqueued.lines.count == 2_500)
        try expectOutput(["cancel", "--status", "pending", "--queue", "bulk", "--dry-run"], "would cancel 2500 jobs")
        try expectOutput(["cancel", "--status", "pending", "--queue", "bulk"], "cancelled 2500 jobs")
        try expectOutput(["retry", "--status", "cancelled", "--type", "Bulk.go", "--dry-run"], "would retry 2500 jobs")
        try expectOutput(["retry", "--status", "cancelled", "--type", "Bulk.go"], "retried 2500 jobs")
        try expectOutput(["cancel", "--status", "pending", "--queue", "bulk", "--dry-run"], "would cancel 2500 jobs")

        // The single-id forms stay.
        #expect(try run(database, ["cancel", String(ids[4])]).stdout == "job \(ids[4]) cancelled\n")
        #expect(try run(database, ["retry", String(ids[4])]).stdout == "job \(ids[4]) is pending again (attempts reset)\n")

        // Bad values: usage errors naming the flag, nothing changed.
        expectFailure(try run(database, ["retry", "--status", "completed"]), status: 2, mentioning: ["--status", "completed"])
        expectFailure(try run(database, ["retry", "--status", "bogus"]), status: 2, mentioning: ["--status", "bogus"])
        expectFailure(try run(database, ["cancel", "--status", "cancelled"]), status: 2, mentioning: ["--status"])
        expectFailure(try run(database, ["retry", "--status", "failed", "--since", "5x"]), status: 2, mentioning: ["--since"])
        expectFailure(try run(database, ["cancel", "--queue", "bulk"]), status: 2, mentioning: ["--queue", "--status"])
        expectFailure(try run(database, ["retry", "5", "--status", "failed"]), status: 2, mentioning: ["--status"])
        expectFailure(try run(database, ["retry"]), status: 2, mentioning: ["--status"])
        expectFailure(try run(database, ["cancel", "--status", "pending", "--type", "Doc."]), status: 2, mentioning: ["--type"])
        try expectOutput(["cancel", "--status", "pending", "--queue", "bulk", "--dry-run"], "would cancel 2500 jobs")
    }
}

@Suite("CLI unique jobs and bulk actions (SQLite)")
struct CLIUniqueBulkSQLiteTests {
    @Test func uniqueKeys() async throws {
        try await BlockingWork.run { try UniqueBulkSteps.uniqueKeys(try Sandbox()) }
    }

    @Test func fourConcurrentEnqueuersGetOneJob() async throws {
        try await BlockingWork.run { try UniqueBulkSteps.concurrentEnqueuers(try Sandbox()) }
    }

    @Test func bulkRetryAndCancel() async throws {
        try await BlockingWork.run { try UniqueBulkSteps.bulkActions(try Sandbox()) }
    }
}

@Suite("CLI unique jobs and bulk actions (PostgreSQL)", .enabled(if: CLIPostgres.enabled, CLIPostgres.skipReason))
struct CLIUniqueBulkPostgresTests {
    @Test func uniqueKeys() async throws {
        try await BlockingWork.run { try UniqueBulkSteps.uniqueKeys(try PostgresSandbox()) }
    }

    @Test func fourConcurrentEnqueuersGetOneJob() async throws {
        try await BlockingWork.run { try UniqueBulkSteps.concurrentEnqueuers(try PostgresSandbox()) }
    }

    @Test func bulkRetryAndCancel() async throws {
        try await BlockingWork.run { try UniqueBulkSteps.bulkActions(try PostgresSandbox()) }
    }
}
