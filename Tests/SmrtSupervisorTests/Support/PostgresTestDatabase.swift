import Foundation
import SmrtBackends
import SmrtJobs

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server of the tests (`SMRT_TEST_POSTGRES_URL`; scripts/test.sh starts a throwaway one and sets
/// `SMRT_TEST_POSTGRES_DIR` to its folder, which `scripts/pg-server.sh restart` takes).
enum PostgresTestServer {
    static let url = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let directory = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_DIR"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether the PostgreSQL tests run: with a server, and always in CI (`CI=true`), where a missing server then
    /// fails them instead of skipping them.
    static let testsEnabled = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    static func requireURL() throws -> String {
        guard let url else {
            throw HarnessError(description: "SMRT_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts a server")
        }
        return url
    }

    /// Runs SQL on the server with psql (the tests' own channel, independent of the code under test).
    @discardableResult
    static func psql(_ sql: String, url: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", try url ?? requireURL(), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError(description: "psql failed (\(process.terminationStatus)): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Restarts the server (fast shutdown: every connection is cut), on the same port.
    static func restart() throws { try control("restart") }

    /// Stops the server, keeping its data (an outage), until `resume()`.
    static func halt() throws { try control("halt") }

    static func resume() throws { try control("resume") }

    /// `scripts/pg-server.sh <command> <the tests' server>`.
    private static func control(_ command: String) throws {
        guard let directory else { throw HarnessError(description: "SMRT_TEST_POSTGRES_DIR is not set: the server is not the tests' own") }
        // Spawned and reaped by the harness itself: Foundation's `Process` misses the end of a script whose child
        // (the restarted server) lives on.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-pg-restart-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let script = try SupervisorProcess(
            executable: "/bin/bash",
            arguments: [WorkerHarness.packageRoot.appendingPathComponent("scripts/pg-server.sh").path, command, directory],
            logPath: log)
        let exit = try script.waitForExit(timeout: 60)
        guard exit == .exited(0) else {
            throw HarnessError(description: "pg-server.sh \(command): \(exit): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    /// `base` with `options=-csearch_path=<schema>` added (libpq's URL syntax, percent-encoded).
    static func url(_ base: String, schema: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }
}

/// A fresh schema on the tests' PostgreSQL server holding one queue, a store on it, and a temporary directory for
/// the test's other files. The schema is dropped when the test ends.
final class PostgresTestDatabase: QueueTestDatabase {
    let directory: URL
    let schema: String
    let dbArgument: String
    let backend: any JobBackend
    let queueStore: any JobStore & ScheduleStore

    init() throws {
        let base = try PostgresTestServer.requireURL()
        let tag = UUID().uuidString.prefix(8).lowercased()
        schema = "smrt_it_\(tag)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-it-pg-\(tag)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try PostgresTestServer.psql("CREATE SCHEMA \(schema)")
        dbArgument = PostgresTestServer.url(base, schema: schema)
        backend = try Backends.open(dbArgument)
        queueStore = try backend.openStore()
    }

    deinit {
        _ = try? PostgresTestServer.psql("DROP SCHEMA IF EXISTS \(schema) CASCADE")
        try? FileManager.default.removeItem(at: directory)
    }

    /// Another connection to the same queue.
    func openStore() throws -> any JobStore & ScheduleStore { try backend.openStore() }
}
