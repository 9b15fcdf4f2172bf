import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

/// `smrt-jobs queue list|pause|resume|set` on SQLite and on PostgreSQL.
@Suite("CLI queue commands")
struct CLIQueueTests {
    /// The same sequence on any backend; `run` adds `--db`.
    static func scenario(_ run: ([String]) throws -> CLIResult) throws {
        for queue in ["mail", "mail", "default"] {
            let enqueued = try run(["enqueue", "Mailer", "send", "--queue", queue])
            #expect(enqueued.status == 0, "\(enqueued)")
        }
        let pause = try run(["queue", "pause", "mail"])
        #expect(pause.status == 0, "\(pause)")
        #expect(pause.stdout.contains("paused queue mail"))
        #expect(try run(["queue", "set", "mail", "--concurrency", "3"]).status == 0)
        // A queue exists once named.
        #expect(try run(["queue", "set", "reports", "--concurrency", "0"]).status == 0)
        #expect(try run(["queue", "set", "reports", "--concurrency", "none"]).status == 0)

        let listed = try run(["queue", "list", "--json"])
        #expect(listed.status == 0, "\(listed)")
        let queues = try #require(try parseJSON(listed.stdout) as? [[String: Any]])
        #expect(queues.map { $0["name"] as? String } == ["default", "mail", "reports"])
        let mail = queues[1]
        #expect(mail["paused"] as? Bool == true)
        #expect((mail["concurrency"] as? NSNumber)?.intValue == 3)
        #expect((mail["pending"] as? NSNumber)?.intValue == 2)
        #expect((mail["running"] as? NSNumber)?.intValue == 0)
        #expect(isStoredTimestamp(mail["oldest_ready_run_at"]))
        #expect(((mail["oldest_ready_age_seconds"] as? NSNumber)?.doubleValue ?? -1) >= 0)
        #expect(queues[2]["concurrency"] is NSNull)
        #expect(queues[2]["oldest_ready_age_seconds"] is NSNull)
        #expect((queues[2]["pending"] as? NSNumber)?.intValue == 0)

        let table = try run(["queue", "list"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("QUEUE") == true)
        #expect(lines.contains { $0.hasPrefix("mail") && $0.contains("paused") && $0.contains(" 3 ") })

        #expect(try run(["queue", "resume", "mail"]).status == 0)
        let resumed = try #require(try parseJSON(try run(["queue", "list", "--json"]).stdout) as? [[String: Any]])
        #expect(resumed[1]["paused"] as? Bool == false)
        #expect((resumed[1]["concurrency"] as? NSNumber)?.intValue == 3)

        // Bad values are usage errors; nothing changes.
        for bad in [
            ["queue", "set", "mail", "--concurrency", "-1"], ["queue", "set", "mail", "--concurrency", "abc"],
            ["queue", "set", "mail", "--concurrency", "1.5"], ["queue", "set", "mail"], ["queue", "pause", ""],
            ["queue", "pause"], ["queue", "frobnicate", "mail"],
        ] {
            let result = try run(bad)
            #expect(result.status == 2, "\(bad): \(result)")
            #expect(!result.crashed)
        }
        let after = try #require(try parseJSON(try run(["queue", "list", "--json"]).stdout) as? [[String: Any]])
        #expect((after[1]["concurrency"] as? NSNumber)?.intValue == 3)
    }

    @Test func onSQLite() throws {
        let sandbox = try Sandbox()
        try Self.scenario { try sandbox.run($0) }
        // The claim honours what the CLI set: mail is limited to 3 (and resumed); reports unlimited.
        let store = try sandbox.store()
        #expect(try store.claim(workerId: "w", limit: 10, queues: nil, now: Date()).count == 3)
    }

    @Test func listOnAMissingDatabaseIsNoSuchDatabase() throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run("queue", "list"), mentioning: ["no such database"])
        expectFailure(try sandbox.run("queue", "pause", "q"), mentioning: ["no such database"])
        #expect(!sandbox.dbExists)
    }

    @Test(.enabled(if: CLIPostgres.enabled, CLIPostgres.skipReason))
    func onPostgreSQL() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let sandbox = try PostgresSandbox()
            try Self.scenario { try sandbox.run($0) }
        }
    }
}
