import Foundation
import SmrtJobsConformance
import SmrtJobs
import Testing

/// Every command says the same on SQLite and on PostgreSQL: one sequence of `smrt-jobs` commands runs against a
/// fresh SQLite file and a fresh PostgreSQL schema, and stdout, stderr and exit codes are compared after
/// replacing what must differ (timestamps, the database's name).
@Suite("CLI backend parity", .enabled(if: CLIPostgres.enabled, CLIPostgres.skipReason))
struct CLIBackendParityTests {
    /// One step: arguments (without `--db`) and stdin.
    struct Step: CustomStringConvertible {
        var args: [String]
        var stdin: String?
        var description: String { args.joined(separator: " ") }
    }

    static func step(_ args: String..., stdin: String? = nil) -> Step { Step(args: args, stdin: stdin) }

    static let batch = """
        {"objectType":"Doc","method":"render","objectId":"d1","args":{"page":1}}
        {"objectType":"Doc","method":"render","objectId":"d2","queue":"docs","priority":"high","delay":"10m"}
        {"objectType":"Doc","method":"archive","retries":1,"timeout":"2s"}

        """

    static let steps: [Step] = [
        // Read-only commands on a missing database (file or schema): "no such database", nothing created.
        step("list"), step("list", "--json"), step("show", "1"), step("show", "1", "--json"), step("stats"),
        step("stats", "--json"), step("schedule", "list"), step("wait", "1", "--timeout", "100"),
        // Writing commands that need rows refuse a missing database too.
        step("retry", "1"), step("cancel", "1"), step("prune", "--completed-before", "1d"), step("schedule", "pause", "1"),
        // Enqueue: single, with every option, then a batch; a bad one is refused.
        step("enqueue", "Mailer", "send", "--args", #"{"to":"ada@example.com","password":"hunter2"}"#),
        step(
            "enqueue", "Reports", "build", "--object-id", "r-7", "--queue", "reports", "--delay", "1h", "--priority", "5",
            "--retries", "4", "--timeout", "90s"),
        step("enqueue", "Cleanup", "run", "--priority", "low", "--delay", "2d"),
        step("enqueue", "--batch", "-", stdin: batch),
        step("enqueue", "Bad", "job", "--priority", "urgent"),
        step("enqueue", "Bad", "job", "--args", "[1,2]"),
        step("enqueue", "--batch", "-", stdin: #"{"objectType":"X","method":"m","priority":"urgent"}"# + "\n"),
        // Reading.
        step("list"), step("list", "--json"), step("list", "--status", "pending"), step("list", "--status", "failed"),
        step("list", "--queue", "reports"), step("list", "--queue", "docs", "--json"), step("list", "--limit", "2"),
        step("list", "--status", "bogus"), step("list", "--limit", "0"),
        step("show", "1"), step("show", "1", "--reveal"), step("show", "2", "--json"), step("show", "6"), step("show", "99"),
        step("stats"), step("stats", "--json"), step("stats", "--queue", "docs", "--json"),
        // Cancel, retry, wait.
        step("cancel", "3"), step("cancel", "3"), step("cancel", "99"), step("show", "3"),
        step("wait", "3"), step("wait", "3", "--json"), step("wait", "1", "--timeout", "200"), step("wait", "99"),
        step("retry", "3"), step("retry", "3"), step("retry", "99"), step("retry", "1", "--json"), step("cancel", "4", "--json"),
        step("list", "--status", "cancelled"), step("stats", "--json"),
        // Prune.
        step("prune", "--completed-before", "1d", "--cancelled-before", "1d", "--dry-run"),
        step("prune", "--cancelled-before", "2099-01-01T00:00:00Z", "--dry-run"),
        step("prune", "--cancelled-before", "2099-01-01T00:00:00Z"), step("prune", "--failed-before", "last week"),
        step("stats", "--json"),
        // Cron and schedules.
        step("cron", "next", "*/15 * * * *", "--from", "2026-11-29T10:05:00Z", "--count", "3"),
        step("cron", "next", "61 * * * *"),
        step("schedule", "list"), step("schedule", "list", "--json"),
        step("schedule", "add", "--cron", "0 9 * * MON-FRI", "--type", "Reports", "--method", "daily", "--tz", "Europe/Berlin"),
        step(
            "schedule", "add", "--cron", "@hourly", "--type", "Sync", "--object-id", "acct-1", "--method", "pull",
            "--args", #"{"token":"abc"}"#),
        step("schedule", "add", "--cron", "@reboot", "--type", "Bad"),
        step("schedule", "list"), step("schedule", "list", "--json"), step("schedule", "list", "--json", "--reveal"),
        step("schedule", "disable", "1"), step("schedule", "disable", "1"), step("schedule", "enable", "1"),
        step("schedule", "pause", "2"), step("schedule", "pause", "2"), step("schedule", "resume", "2"),
        step("schedule", "remove", "1"), step("schedule", "remove", "1"), step("schedule", "enable", "99"),
        step("schedule", "list"),
        step("list", "--json"),
    ]

    /// Text with timestamps and the database's name replaced.
    static func normalised(_ text: String, database: String) -> String {
        text.replacingOccurrences(of: database, with: "<DB>")
            .replacingOccurrences(
                of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z"#, with: "<TIME>", options: .regularExpression)
    }

    @Test func everyCommandSaysTheSameOnBothBackends() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let sqlite = try Sandbox()
            let postgres = try PostgresSandbox()
            var differences = 0
            for step in Self.steps {
                let onSQLite = try sqlite.run(step.args, stdin: step.stdin)
                let onPostgres = try postgres.run(step.args, stdin: step.stdin)
                for result in [onSQLite, onPostgres] {
                    #expect(!result.crashed, "\(step): \(result)")
                    #expect(!result.stderr.contains("Fatal error"), "\(step): \(result)")
                }
                let left = (onSQLite.status, Self.normalised(onSQLite.stdout, database: sqlite.dbPath),
                    Self.normalised(onSQLite.stderr, database: sqlite.dbPath))
                let right = (onPostgres.status, Self.normalised(onPostgres.stdout, database: postgres.url),
                    Self.normalised(onPostgres.stderr, database: postgres.url))
                if left != right { differences += 1 }
                #expect(left.0 == right.0, "\(step): exit \(left.0) on SQLite, \(right.0) on PostgreSQL")
                #expect(left.1 == right.1, "\(step): stdout differs\nSQLite:\n\(left.1)\nPostgreSQL:\n\(right.1)")
                #expect(left.2 == right.2, "\(step): stderr differs\nSQLite:\n\(left.2)\nPostgreSQL:\n\(right.2)")
                if differences > 5 { break }  // enough to go on; the rest would only repeat the first difference
            }
        }
    }

    /// The sequence does what it says (so the comparison above compares something): a few outcomes, on PostgreSQL.
    @Test func theSequenceReachesEveryOutcome() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let postgres = try PostgresSandbox()
            var results: [String: CLIResult] = [:]
            for step in Self.steps {
                let result = try postgres.run(step.args, stdin: step.stdin)
                if results[step.description] == nil { results[step.description] = result }  // the first of repeated steps
            }
            func result(_ args: String...) -> CLIResult? { results[args.joined(separator: " ")] }
            #expect(result("list")?.stderr == "smrt-jobs: error: no such database: \(postgres.url)\n")
            #expect(result("enqueue", "--batch", "-")?.stdout == "4\n5\n6\n")
            #expect(result("enqueue", "Bad", "job", "--priority", "urgent")?.status == 1)
            #expect(result("list", "--status", "bogus")?.status == 1)
            #expect(result("wait", "3")?.status == 1)
            #expect(result("wait", "1", "--timeout", "200")?.status == 3)
            #expect(result("wait", "99")?.status == 1)
            #expect(result("cancel", "3")?.stdout == "job 3 cancelled\n")
            #expect(result("prune", "--cancelled-before", "2099-01-01T00:00:00Z")?.stdout == "deleted 1 job\n")
            #expect(result("schedule", "add", "--cron", "@reboot", "--type", "Bad")?.status == 1)
            #expect(result("schedule", "remove", "1")?.stdout == "schedule 1 removed\n")
            #expect(result("cron", "next", "*/15 * * * *", "--from", "2026-11-29T10:05:00Z", "--count", "3")?.lines
                == ["2026-11-29T10:15:00Z", "2026-11-29T10:30:00Z", "2026-11-29T10:45:00Z"])
            #expect(result("show", "1", "--reveal")?.stdout.contains("hunter2") == true)
            let secrets = results.filter { !$0.key.contains("--reveal") }.values.map { $0.stdout + $0.stderr }.joined()
            #expect(!secrets.contains("hunter2") && !secrets.contains("abc\""), "secrets are redacted without --reveal")
        }
    }

    /// Times are kept as given on both (normalised away above): a delay is the same span from the enqueue.
    @Test func delaysAndScheduleTimesAgree() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let sqlite = try Sandbox()
            let postgres = try PostgresSandbox()
            var spans: [Double] = []
            for run in [{ try sqlite.run($0) }, { try postgres.run($0) }] as [([String]) throws -> CLIResult] {
                #expect(try run(["enqueue", "A", "m", "--delay", "90m"]).status == 0)
                let job = try #require(try parseJSON(try run(["show", "1", "--json"]).stdout) as? [String: Any])
                let runAt = try #require((job["runAt"] as? String).flatMap { Timestamp.parse($0) })
                let createdAt = try #require((job["createdAt"] as? String).flatMap { Timestamp.parse($0) })
                spans.append(runAt.timeIntervalSince(createdAt))
                #expect(try run(["schedule", "add", "--cron", "0 0 1 1 *", "--type", "A", "--tz", "Asia/Tokyo"]).status == 0)
                let schedules = try #require(try parseJSON(try run(["schedule", "list", "--json"]).stdout) as? [[String: Any]])
                let nextRun = try #require(schedules.first?["nextRun"] as? String)
                #expect(nextRun.hasSuffix("-12-31T15:00:00.000Z"), "\(nextRun)")
            }
            #expect(spans.count == 2 && spans.allSatisfy { abs($0 - 5400) < 0.01 }, "\(spans)")
        }
    }
}
