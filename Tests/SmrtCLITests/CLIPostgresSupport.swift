import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server of the CLI tests: `SMRT_TEST_POSTGRES_URL` (scripts/test.sh starts a throwaway one).
/// Without it the PostgreSQL cases skip and say why, except in CI (`CI=true`), where they run and fail.
enum CLIPostgres {
    static let baseURL = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let enabled = baseURL != nil || isCI
    static let skipReason: Comment = "SMRT_TEST_POSTGRES_URL is not set (scripts/test.sh starts a server and sets it)"

    /// The server's URL; records an issue and throws without one (reached only in CI).
    static func requireURL() throws -> String {
        guard let baseURL else {
            Issue.record("SMRT_TEST_POSTGRES_URL is not set, and CI=true needs the PostgreSQL tests to run (see scripts/test.sh)")
            throw CLIHarnessError(description: "no PostgreSQL server for the tests")
        }
        return baseURL
    }

    /// The server's URL with parts replaced (`user:password@`, port, database).
    static func variant(user: String? = nil, password: String? = nil, port: Int? = nil, database: String? = nil) throws -> String {
        guard var components = URLComponents(string: try requireURL()) else {
            throw CLIHarnessError(description: "SMRT_TEST_POSTGRES_URL is not a URL")
        }
        if let user { components.user = user }
        if let password { components.password = password }
        if let port { components.port = port }
        if let database { components.path = "/" + database }
        guard let url = components.string else { throw CLIHarnessError(description: "cannot rebuild \(components)") }
        return url
    }

    /// `url` with `schema` first in the search path (libpq's URL syntax, percent-encoded).
    static func url(_ url: String, schema: String) -> String {
        url + (url.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }

    /// Runs SQL with psql: the tests' own channel, independent of the code under test.
    @discardableResult
    static func psql(_ sql: String) throws -> String {
        let result = try CLI.run(
            ["psql", try requireURL(), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], binary: "/usr/bin/env")
        guard result.status == 0 else { throw CLIHarnessError(description: "psql failed: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func schemaExists(_ schema: String) throws -> Bool {
        try psql("SELECT count(*) FROM pg_namespace WHERE nspname = '\(schema)'") == "1"
    }

    /// A TCP port on 127.0.0.1 nobody listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIHarnessError(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CLIHarnessError(description: "bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A fresh schema on the test server, named but not created (the CLI's writing commands create it); dropped
/// at the end.
final class PostgresSandbox {
    let schema: String
    /// `--db` for the CLI.
    let url: String

    init() throws {
        schema = "smrt_cli_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        url = CLIPostgres.url(try CLIPostgres.requireURL(), schema: schema)
    }

    deinit { _ = try? CLIPostgres.psql("DROP SCHEMA IF EXISTS \(schema) CASCADE") }

    func run(_ args: [String], stdin: String? = nil, deadline: TimeInterval = 30) throws -> CLIResult {
        try CLI.run(args + ["--db", url], stdin: stdin, deadline: deadline)
    }
}

/// The built `smrt-supervisor`, beside `smrt-jobs`.
enum Supervisor {
    static var binary: String { CLI.productsFolder.appendingPathComponent("smrt-supervisor").path }

    /// Runs `smrt-supervisor --db <db> --worker-exec /bin/true args...` (it must exit by itself).
    static func run(db: String, _ args: [String] = [], env: [String: String] = [:]) throws -> CLIResult {
        try CLI.run(["--db", db, "--worker-exec", "/bin/true", "--workers", "1"] + args, env: env, deadline: 30, binary: binary)
    }
}
