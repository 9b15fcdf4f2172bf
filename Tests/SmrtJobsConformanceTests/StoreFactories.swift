import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsMemory
import SmrtJobsPostgres
import SmrtJobsSQLite
import Testing

/// The stores of this package, as the conformance suite opens them.
enum StoreFactories {
    /// PostgreSQL is checked when the tests have a server (`SMRT_TEST_POSTGRES_URL`), and always in CI, where a
    /// missing server fails every PostgreSQL case.
    static let all: [StoreFactory] = [sqlite, memory] + (PostgresTestServer.isRequested ? [postgres] : [])

    /// A file in the check's directory.
    static let sqlite = StoreFactory(
        name: "SQLite", makeBackend: { directory in SQLiteBackend(path: directory.path("jobs.sqlite")) },
        executeSQL: { store, sql in
            try #require(store as? SQLiteJobStore).withConnection { connection in try connection.exec(sql) }
        })

    /// A fresh in-memory database per check.
    static let memory = StoreFactory(name: "memory") { _ in MemoryBackend() }

    /// A schema of its own per check on the test server, named but not created: the first store that may create
    /// creates it (`StoreAccess`); dropped afterwards.
    static let postgres = StoreFactory(
        name: "PostgreSQL",
        makeBackend: { _ in try PostgresBackend(url: PostgresTestServer.url(schema: PostgresTestServer.freshSchemaName())) },
        tearDown: { backend in
            guard let schema = PostgresTestServer.schema(of: backend.displayName) else { return }
            PostgresTestServer.dropSchema(schema)
        },
        executeSQL: { store, sql in
            _ = try #require(store as? PostgresJobStore).withConnection { connection in try connection.exec(sql) }
        })
}

/// The PostgreSQL server of the tests: `SMRT_TEST_POSTGRES_URL` (scripts/test.sh starts a throwaway one).
enum PostgresTestServer {
    static let baseURL = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Whether PostgreSQL cases run: with a server, or in CI (where they then fail).
    static let isRequested = baseURL != nil || isCI

    /// The server's URL; records an issue and throws without one (only reached in CI).
    static func requireURL() throws -> String {
        guard let baseURL else {
            Issue.record("SMRT_TEST_POSTGRES_URL is not set, and CI=true needs the PostgreSQL tests to run (see scripts/test.sh)")
            throw SmrtJobsError.database(kind: .unavailable, message: "no PostgreSQL server for the tests")
        }
        return baseURL
    }

    static func freshSchemaName() -> String {
        "smrt_t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// The server URL with `schema` first in the search path.
    static func url(schema: String) throws -> String {
        let base = try requireURL()
        return base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }

    static func schema(of url: String) -> String? {
        guard let range = url.range(of: "search_path%3D", options: .backwards) else { return nil }
        return String(url[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
    }

    static func dropSchema(_ schema: String) {
        guard let baseURL, let settings = try? PostgresSettings(url: baseURL),
            let connection = try? PostgresConnection(settings: settings)
        else { return }
        _ = try? connection.exec("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }
}
