import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

/// The CLI never prints a URL's password: not in stored errors (whoever stored them), not in its own errors.
@Suite("CLI redaction")
struct CLIRedactionTests {
    static let leaky = "cannot reach postgres://svc:topsecret@db/app"
    static let redacted = "cannot reach postgres://svc:[REDACTED]@db/app"

    /// A failed job whose error was stored verbatim (by an older version, or a tool writing the file).
    private func failedJob(_ sandbox: Sandbox) throws -> Int64 {
        let id = try sandbox.enqueue("A", "m")
        let store = try sandbox.store()
        _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: Date())
        #expect(try store.fail(id: id, workerId: "w", error: Self.leaky, retryAt: nil) == .failed)
        #expect(try store.get(id: id)?.lastError == Self.leaky)
        return id
    }

    @Test(arguments: [["show"], ["show", "--json"], ["list"], ["list", "--json"], ["wait"], ["wait", "--json"]])
    func storedErrorsArePrintedRedacted(command: [String]) throws {
        let sandbox = try Sandbox()
        let id = try failedJob(sandbox)
        let args = command.first == "list" ? command : [command[0], String(id)] + command.dropFirst()
        let result = try sandbox.run(args)
        #expect(!result.crashed, "\(result)")
        #expect(!result.stdout.contains("topsecret") && !result.stderr.contains("topsecret"), "\(result)")
        #expect(result.stdout.contains("svc:[REDACTED]"), "\(result)")
    }

    @Test func errorMessagesArePrintedRedacted() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run("enqueue", "A", "m", "--priority", "postgres://svc:topsecret@db/app")
        expectFailure(result, mentioning: ["invalid priority 'postgres://svc:[REDACTED]@db/app'"])
        #expect(!result.stderr.contains("topsecret"))
    }
}
