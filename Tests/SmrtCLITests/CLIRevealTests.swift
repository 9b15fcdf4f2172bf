import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

/// Args, results, configs and errors are printed redacted by default by every command that prints them;
/// `--reveal` prints them as stored.
@Suite("CLI reveal")
struct CLIRevealTests {
    /// One secret per kind of key (and a URL password); none may show without --reveal.
    static let secrets = ["a-uth1", "p-wd1", "k-ey1", "s-ess1", "c-ook1", "P-ASS1", "t-ok1"]
    static let args = #"{"auth":"a-uth1","pwd":"p-wd1","private_key":"k-ey1","session":"s-ess1","cookie":"c-ook1","#
        + #""url":"https://user:P-ASS1@host/db","note":"call with token=t-ok1","user":"ann"}"#
    static let result: JSONValue = ["session": "s-ess1", "link": "https://user:P-ASS1@host/x", "rows": 3]
    static let error = "login failed: auth=a-uth1 pwd=p-wd1 cookie=c-ook1"

    /// A completed job (args and result with secrets) and a failed one (an error stored verbatim by an older
    /// version or another tool), and a schedule with secret args and config.
    private func populated() throws -> (Sandbox, completed: Int64, failed: Int64) {
        let sandbox = try Sandbox()
        let completed = try sandbox.enqueue("A", "m", "--args", Self.args)
        let failed = try sandbox.enqueue("A", "m", "--args", Self.args)
        let store = try sandbox.store()
        _ = try store.claim(workerId: "w", limit: 2, queues: nil, now: Date())
        #expect(try store.complete(id: completed, workerId: "w", result: Self.result) == .completed)
        #expect(try store.fail(id: failed, workerId: "w", error: Self.error, retryAt: nil) == .failed)
        let schedule = try sandbox.run(
            "schedule", "add", "--cron", "@daily", "--type", "Agent", "--args", #"{"pwd":"p-wd1"}"#,
            "--config", #"{"session":"s-ess1","url":"https://user:P-ASS1@host"}"#)
        #expect(schedule.status == 0, "\(schedule)")
        return (sandbox, completed, failed)
    }

    static let commands: [[String]] = [
        ["show", "COMPLETED"], ["show", "COMPLETED", "--json"], ["show", "FAILED"], ["show", "FAILED", "--json"],
        ["list"], ["list", "--json"], ["wait", "COMPLETED"], ["wait", "COMPLETED", "--json"], ["wait", "FAILED"],
        ["wait", "FAILED", "--json"], ["schedule", "list", "--json"], ["cancel", "FAILED", "--json"],
    ]

    private func run(_ command: [String], _ sandbox: Sandbox, _ completed: Int64, _ failed: Int64) throws -> CLIResult {
        try sandbox.run(command.map { $0 == "COMPLETED" ? String(completed) : $0 == "FAILED" ? String(failed) : $0 })
    }

    @Test(arguments: commands)
    func secretsAreRedactedByDefault(command: [String]) throws {
        let (sandbox, completed, failed) = try populated()
        let result = try run(command, sandbox, completed, failed)
        #expect(!result.crashed && result.status != 2, "\(result)")
        for secret in Self.secrets {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "\(secret) in \(result)")
        }
        #expect(result.stdout.contains("[REDACTED]") || command == ["list"], "\(result)")
        #expect(!result.stdout.contains("ann") || result.stdout.contains(#""user":"ann""#), "non-secret values stay")
    }

    @Test(arguments: commands)
    func revealPrintsThemAsStored(command: [String]) throws {
        let (sandbox, completed, failed) = try populated()
        let result = try run(command + ["--reveal"], sandbox, completed, failed)
        #expect(!result.crashed && result.status != 2, "\(result)")
        let text = result.stdout
        switch command.first {
        case "schedule":
            #expect(text.contains("p-wd1") && text.contains("s-ess1") && text.contains("P-ASS1"), "\(result)")
        case "wait" where command[1] == "COMPLETED":
            #expect(text.contains("s-ess1") && text.contains("P-ASS1"), "\(result)")
        case "wait":
            #expect(text.contains("a-uth1") && text.contains("c-ook1"), "\(result)")
        case "list" where command.count == 1:
            #expect(text.contains("a-uth1"), "the LAST ERROR column: \(result)")
        default:
            for secret in Self.secrets { #expect(text.contains(secret), "\(secret) missing from \(result)") }
        }
    }

    @Test func showJSONKeepsTheShapeOfRedactedValues() throws {
        let (sandbox, completed, _) = try populated()
        let json = try #require(try parseJSON(sandbox.run("show", String(completed), "--json").stdout) as? [String: Any])
        let args = try #require(json["args"] as? [String: Any])
        #expect(args["auth"] as? String == "[REDACTED]")
        #expect(args["url"] as? String == "https://user:[REDACTED]@host/db")
        #expect(args["note"] as? String == "call with token=[REDACTED]")
        #expect(args["user"] as? String == "ann")
        let result = try #require(json["result"] as? [String: Any])
        #expect(result["session"] as? String == "[REDACTED]")
        #expect(result["rows"] as? Int == 3)
    }
}
