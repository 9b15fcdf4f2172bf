import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SmrtBackends
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsMemory
import SmrtJobsPostgres
import SmrtJobsSQLite
import Testing

@testable import SmrtDashboard

/// A dashboard on a fresh database of one backend, a store to seed it, and a browser-like client.
final class DashboardFixture: Sendable {
    enum Kind: String, Sendable, CustomStringConvertible, CaseIterable {
        case memory, sqlite, postgres
        var description: String { rawValue }
    }

    /// The backends the flows run on: memory, SQLite (a file in a temporary directory), and PostgreSQL when
    /// `SMRT_TEST_POSTGRES_URL` names a server (always with CI=true, where a missing server fails them).
    static let kinds: [Kind] = [.memory, .sqlite] + (PostgresSchemas.isRequested ? [.postgres] : [])

    let kind: Kind
    let directory: TemporaryDirectory
    let backend: any JobBackend
    let store: any JobStore & ScheduleStore
    let server: DashboardServer
    /// The dashboard's log lines.
    let logSink: DashboardLogHandler.Sink
    private let schema: String?

    private init(
        kind: Kind, directory: TemporaryDirectory, backend: any JobBackend, store: any JobStore & ScheduleStore,
        server: DashboardServer, schema: String?, logSink: DashboardLogHandler.Sink
    ) {
        self.kind = kind
        self.directory = directory
        self.backend = backend
        self.store = store
        self.server = server
        self.schema = schema
        self.logSink = logSink
    }

    static func make(
        _ kind: Kind, token: String? = nil, readOnly: Bool = false, pageScanLimit: Int = 20_000,
        refreshInterval: Duration = .milliseconds(100), seed: @Sendable (any JobStore & ScheduleStore) throws -> Void = { _ in }
    ) async throws -> DashboardFixture {
        let directory = try TemporaryDirectory(prefix: "smrt-dash")
        var schema: String?
        let backend: any JobBackend
        switch kind {
        case .memory: backend = MemoryBackend()
        case .sqlite: backend = SQLiteBackend(path: directory.path("jobs.sqlite"))
        case .postgres:
            let name = PostgresSchemas.freshName()
            schema = name
            backend = try Backends.open(try PostgresSchemas.url(schema: name))
        }
        let store = try await BlockingWork.run { try backend.openStore(.create) }
        try await BlockingWork.run { try seed(store) }
        let sink = DashboardLogHandler.Sink(writesToStandardError: false)
        let configuration = DashboardConfiguration(
            database: backend.displayName, token: token, readOnly: readOnly, refreshInterval: refreshInterval,
            // No share pause: a refresh stretched by a loaded test machine must not hold the next one back.
            refreshShare: 1,
            pageScanLimit: pageScanLimit)
        let server = try await DashboardServer.open(
            configuration, backend: backend, logger: DashboardLogHandler.logger(format: .text, sink: sink))
        #expect(await server.waitForFirstRefresh())
        return DashboardFixture(
            kind: kind, directory: directory, backend: backend, store: store, server: server, schema: schema, logSink: sink)
    }

    /// Runs `body` with a client on the router (no sockets), then closes everything.
    func test(_ body: @Sendable (Client) async throws -> Void) async throws {
        do {
            let app = server.application()
            try await app.test(.router) { client in try await body(Client(client)) }
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Runs a store call on a blocking thread.
    func seed<T: Sendable>(_ body: @Sendable (any JobStore & ScheduleStore) throws -> T) async throws -> T {
        let store = store
        return try await BlockingWork.run { try body(store) }
    }

    /// Waits until the overview cache has read the database after now.
    func waitForRefresh() async throws {
        let started = Date()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let snapshot = server.cache.snapshot, snapshot.receivedAt > started { return }
            server.cache.refreshSoon()
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the overview cache did not refresh within 30 s")
    }

    func close() async {
        await server.close()
        if let schema { PostgresSchemas.drop(schema) }
        directory.remove()
    }

    /// A test client that keeps the session cookie and sends `Host` (and `Origin` on form posts) as a browser would.
    final class Client: Sendable {
        let client: any TestClientProtocol
        let cookie = Locked<String?>(nil)
        let host = "127.0.0.1:8080"

        init(_ client: any TestClientProtocol) {
            self.client = client
        }

        func request(
            _ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil
        ) async throws -> TestResponse {
            var headers = headers
            if headers[Fields.host] == nil { headers[Fields.host] = host }
            if let cookie = cookie.withLock({ $0 }), headers[.cookie] == nil { headers[.cookie] = "smrt_session=\(cookie)" }
            let response = try await client.execute(
                uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
            for value in response.headers[values: .setCookie] {
                guard value.hasPrefix("smrt_session=") else { continue }
                let id = String(value.dropFirst("smrt_session=".count).prefix { $0 != ";" })
                cookie.withLock { $0 = id.isEmpty ? nil : id }
            }
            return response
        }

        /// GET, returning the body as text.
        func page(_ path: String, headers: HTTPFields = [:]) async throws -> (TestResponse, String) {
            let response = try await request(path, headers: headers)
            return (response, String(buffer: response.body))
        }

        /// A form POST with `Origin` (unless `origin` is nil) and the fields URL-encoded.
        func post(
            _ path: String, _ fields: [(String, String)], origin: String? = "http://127.0.0.1:8080", headers: HTTPFields = [:]
        ) async throws -> TestResponse {
            var headers = headers
            headers[.contentType] = "application/x-www-form-urlencoded"
            if let origin { headers[Fields.origin] = origin }
            let body = fields.map { "\(URLQuery.escape($0.0))=\(URLQuery.escape($0.1))" }.joined(separator: "&")
            return try await request(path, method: .post, headers: headers, body: body)
        }

        /// A JSON API call.
        func api(
            _ path: String, method: HTTPRequest.Method = .get, json: String? = nil, token: String? = nil,
            headers: HTTPFields = [:]
        ) async throws -> (TestResponse, JSONValue) {
            var headers = headers
            if let token { headers[Fields.authorization] = "Bearer \(token)" }
            if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
            let response = try await request(path, method: method, headers: headers, body: json)
            let text = String(buffer: response.body)
            return (response, (try? JSONValue.parse(text)) ?? .string(text))
        }

        /// The CSRF token of the last page's forms.
        static func csrf(in html: String) -> String? {
            guard let range = html.range(of: #"name="csrf" value="([0-9a-f]{64})""#, options: .regularExpression) else { return nil }
            return String(html[range].dropFirst(#"name="csrf" value=""#.count).prefix(64))
        }
    }

    enum Fields {
        static let host = HTTPField.Name("Host")!
        static let origin = HTTPField.Name("Origin")!
        static let referer = HTTPField.Name("Referer")!
        static let authorization = HTTPField.Name("Authorization")!
        static let csrf = HTTPField.Name("X-CSRF-Token")!
    }
}

/// Schemas of their own on the PostgreSQL server of the tests (`SMRT_TEST_POSTGRES_URL`), as the other
/// PostgreSQL tests use it.
enum PostgresSchemas {
    static let baseURL = ProcessInfo.processInfo.environment["SMRT_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isRequested = baseURL != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    static func freshName() -> String { "smrt_dash_" + String(UInt64.random(in: 0...UInt64.max), radix: 36) }

    static func url(schema: String) throws -> String {
        guard let baseURL else {
            Issue.record("SMRT_TEST_POSTGRES_URL is not set, and CI=true needs the PostgreSQL tests to run (see scripts/test.sh)")
            throw SmrtJobsError.database(kind: .unavailable, message: "no PostgreSQL server for the tests")
        }
        return baseURL + (baseURL.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
    }

    static func drop(_ schema: String) {
        guard let baseURL, let settings = try? PostgresSettings(url: baseURL),
            let connection = try? PostgresConnection(settings: settings)
        else { return }
        _ = try? connection.exec("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }
}
