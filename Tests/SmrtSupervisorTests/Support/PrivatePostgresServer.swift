import Foundation

/// A PostgreSQL server of one test's own (`scripts/pg-server.sh` in a temporary folder), for the tests that stop or
/// restart their server: doing that to the shared one would cut the connections of every other test running.
final class PrivatePostgresServer {
    let directory: String
    /// `postgresql://postgres@127.0.0.1:PORT/postgres`.
    let url: String
    private var stopped = false

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-pg-\(UUID().uuidString.prefix(8))").path
        try Self.run("start", directory)
        let port = try String(contentsOfFile: directory + "/port", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        url = "postgresql://postgres@127.0.0.1:\(port)/postgres"
    }

    deinit { stop() }

    /// Restarts the server (fast shutdown: every connection is cut), on the same port.
    func restart() throws { try Self.run("restart", directory) }

    /// Stops the server, keeping its data (an outage), until `resume()`.
    func halt() throws { try Self.run("halt", directory) }

    func resume() throws { try Self.run("resume", directory) }

    /// Stops the server and deletes its folder (once; also at deinit).
    func stop() {
        guard !stopped else { return }
        stopped = true
        try? Self.run("stop", directory)
    }

    /// `scripts/pg-server.sh <command> <directory>`, spawned and reaped by the harness itself: Foundation's `Process`
    /// misses the end of a script whose child (the started server) lives on.
    private static func run(_ command: String, _ directory: String) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-pg-\(command)-\(UUID().uuidString.prefix(8)).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let script = try SupervisorProcess(
            executable: "/bin/bash",
            arguments: [WorkerHarness.packageRoot.appendingPathComponent("scripts/pg-server.sh").path, command, directory],
            logPath: log)
        let exit = try script.waitForExit(timeout: 120)
        guard exit == .exited(0) else {
            throw HarnessError(description: "pg-server.sh \(command): \(exit): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }
}
