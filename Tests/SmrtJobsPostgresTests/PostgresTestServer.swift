import Foundation
import SmrtJobs
import SmrtJobsPostgres
import Testing

/// The PostgreSQL server of the tests: `SMRT_TEST_POSTGRES_URL` (scripts/test.sh starts a throwaway one).
/// Without it the tests are skipped, except in CI (`CI=true`), where they run and fail.
enum PostgresTestServer {
    static let baseURL = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Whether the PostgreSQL tests run: with a server, or in CI (where they then fail).
    static let isRequested = baseURL != nil || isCI

    /// The server's URL; records an issue and throws without one (only reached in CI).
    static func requireURL() throws -> String {
        guard let baseURL else {
            Issue.record("SMRT_TEST_POSTGRES_URL is not set, and CI=true needs the PostgreSQL tests to run (see scripts/test.sh)")
            throw SmrtJobsError.database(kind: .unavailable, message: "no PostgreSQL server for the tests")
        }
        return baseURL
    }

    /// Polls `condition` every 10 ms until it holds or `seconds` pass; whether it held.
    static func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            usleep(10_000)
        }
    }

    /// How many sessions of the server run `query` now (`pg_stat_activity`), `pid` if given.
    static func sessions(running query: String? = nil, pid: String? = nil) throws -> Int {
        let admin = try adminConnection()
        if let pid {
            return Int(try admin.queryOnce("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::integer", [pid]).row(0).string(0) ?? "") ?? -1
        }
        return Int(try admin.queryOnce("SELECT count(*) FROM pg_stat_activity WHERE query = $1", [query]).row(0).string(0) ?? "") ?? -1
    }

    static func freshSchemaName() -> String {
        "smrt_t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// `url` with `schema` first in the search path.
    static func url(_ base: String, schema: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }

    /// A direct connection to the server (no schema of its own), for setup and inspection.
    static func adminConnection() throws -> PostgresConnection {
        try PostgresConnection(settings: PostgresSettings(url: try requireURL()))
    }

    /// Runs `body` with a backend on a fresh schema, dropped afterwards.
    static func withBackend(_ body: (PostgresBackend, _ url: String, _ schema: String) throws -> Void) throws {
        let base = try requireURL()
        let schema = freshSchemaName()
        defer { _ = try? adminConnection().exec("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        let url = url(base, schema: schema)
        try body(try PostgresBackend(url: url), url, schema)
    }
}
