import Foundation
import SmrtBackends
import SmrtJobs

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server the tests share (`SMRT_TEST_POSTGRES_URL`; scripts/test.sh starts a throwaway one). Tests that
/// stop or restart a server start one of their own (`PrivatePostgresServer`).
enum PostgresTestServer {
    static let url = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

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
    /// The server's URL, without the schema.
    let server: String
    let backend: any JobBackend
    let queueStore: any JobStore & ScheduleStore

    /// - Parameter server: the server's URL; nil: the tests' shared server.
    init(server: String? = nil) throws {
        let base = try server ?? PostgresTestServer.requireURL()
        self.server = base
        let tag = UUID().uuidString.prefix(8).lowercased()
        schema = "smrt_it_\(tag)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-it-pg-\(tag)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try PostgresTestServer.psql("CREATE SCHEMA \(schema)", url: base)
        dbArgument = PostgresTestServer.url(base, schema: schema)
        backend = try Backends.open(dbArgument)
        queueStore = try backend.openStore()
    }

    deinit {
        _ = try? PostgresTestServer.psql("DROP SCHEMA IF EXISTS \(schema) CASCADE", url: server)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Another connection to the same queue.
    func openStore() throws -> any JobStore & ScheduleStore { try backend.openStore() }
}
