import CLibPQ
import Foundation
import SmrtJobs
import SmrtJobsConformance
@testable import SmrtJobsPostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What only the PostgreSQL backend promises, against the test server (`SMRT_TEST_POSTGRES_URL`): error classes
/// of connects, concurrent first opens, concurrent claims, reconnects, LISTEN/NOTIFY, health, close-on-exec.
@Suite(
    "PostgreSQL server",
    // Without a server the tests are skipped (say SMRT_TEST_POSTGRES_URL=postgresql://…, or run scripts/test.sh);
    // in CI (CI=true) they run and fail.
    .enabled(if: PostgresTestServer.isRequested, "SMRT_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)"))
struct PostgresServerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// The test server's URL with another user, password, port or database.
    static func variant(user: String? = nil, password: String? = nil, port: Int? = nil, database: String? = nil) throws -> String {
        var components = try #require(URLComponents(string: try PostgresTestServer.requireURL()))
        if let user { components.user = user }
        if let password { components.password = password }
        if let port { components.port = port }
        if let database { components.path = "/" + database }
        return try #require(components.string)
    }

    static func expectDatabaseError(
        _ kind: DatabaseErrorKind, hiding secret: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
    ) -> String? {
        do {
            try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch SmrtJobsError.database(let found, let message) {
            #expect(found == kind, "\(message)", sourceLocation: sourceLocation)
            #expect(!message.contains(secret), "\(message)", sourceLocation: sourceLocation)
            return message
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func refusedConnectionIsUnavailableWithAClearMessage() async throws {
        try await BlockingWork.run {
            let backend = try PostgresBackend(url: try Self.variant(user: "postgres", password: "Pw1secretX", port: 1))
            let message = Self.expectDatabaseError(.unavailable, hiding: "Pw1secretX") { _ = try backend.openStore() }
            #expect(message?.contains("127.0.0.1:1/") == true, "\(message ?? "")")
            #expect(!backend.displayName.contains("Pw1secretX"))
            #expect(throws: SmrtJobsError.self) { try backend.makeChangeSignal().start {} }
            #expect(backend.checkHealth() == nil, "an unreachable server is not a health failure")
        }
    }

    @Test func wrongPasswordIsFatalWithoutThePassword() async throws {
        try await BlockingWork.run {
            let url = try Self.variant(user: "smrt_password_test", password: "Wr0ngPa55")
            let message = Self.expectDatabaseError(.fatal, hiding: "Wr0ngPa55") {
                _ = try PostgresConnection(settings: PostgresSettings(url: url))
            }
            #expect(message?.contains("password authentication failed") == true, "\(message ?? "")")
            _ = try PostgresConnection(settings: PostgresSettings(url: try Self.variant(user: "smrt_password_test", password: "right")))
        }
    }

    @Test func missingDatabaseIsNoSuchDatabaseForEveryAccess() async throws {
        try await BlockingWork.run {
            let backend = try PostgresBackend(url: try Self.variant(password: "Pw2secretX", database: "smrt_no_such_db_7f3a"))
            for access in [StoreAccess.readOnly, .readWrite, .readWrite.addingToForeignDatabase()] {
                #expect(throws: SmrtJobsError.noSuchDatabase(name: backend.displayName)) { try backend.openStore(access) }
            }
            for access in [StoreAccess.create, .createAnywhere] {
                do {
                    _ = try backend.openStore(access)
                    Issue.record("\(access) opened a missing database")
                } catch SmrtJobsError.noSuchDatabase(let name) {
                    #expect(name.hasPrefix(backend.displayName))
                    #expect(name.contains("never a PostgreSQL database"), "\(name)")
                }
            }
            #expect(!backend.displayName.contains("Pw2secretX"))
        }
    }

    @Test func concurrentFirstOpensOfAnEmptySchemaAllSucceed() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, _ in
                let failures = Locked<[String]>([])
                DispatchQueue.concurrentPerform(iterations: 6) { _ in
                    do {
                        let store = try backend.openStore(.create)
                        _ = try store.stats(queue: nil)
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                #expect(failures.withLock { $0 } == [])
                let version = try backend.openPostgresStore().schemaVersion()
                #expect(version == PostgresSchema.currentVersion)
            }
        }
    }

    @Test func fourClaimersOnTheirOwnConnectionsNeverShareAJob() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, _ in
                let store = try backend.openStore()
                let ids = try store.enqueue(
                    batch: (0..<400).map { JobSpec(objectType: "Doc", method: "run", priority: $0 % 3 * 10) }, now: Self.t0)
                let claimed = Locked<[Int64]>([])
                let failures = Locked<[String]>([])
                DispatchQueue.concurrentPerform(iterations: 4) { worker in
                    do {
                        let own = try backend.openStore()
                        while true {
                            let jobs = try own.claim(workerId: "w\(worker)", limit: 7, queues: nil, now: Self.t0)
                            if jobs.isEmpty { break }
                            claimed.withLock { $0 += jobs.map(\.id) }
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                #expect(failures.withLock { $0 } == [])
                let all = claimed.withLock { $0 }
                #expect(all.count == ids.count)
                #expect(Set(all) == Set(ids))
            }
        }
    }

    @Test func storeReconnectsAfterItsBackendIsTerminated() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, _ in
                let store = try backend.openPostgresStore()
                let job = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                let pid = try store.withConnection { PQbackendPID($0.handle) }
                try PostgresTestServer.adminConnection().queryOnce("SELECT pg_terminate_backend($1::integer)", [String(pid)])
                // Termination is asynchronous: wait until the backend is gone.
                #expect(try PostgresTestServer.eventually(within: 5) { try PostgresTestServer.sessions(pid: String(pid)) == 0 })
                _ = Self.expectDatabaseError(.unavailable, hiding: "\u{0}") { _ = try store.get(id: job.id) }
                var read: SmrtJob?
                let deadline = Date().addingTimeInterval(5)
                while read == nil && Date() < deadline {
                    read = try? store.get(id: job.id)
                    if read == nil { usleep(50_000) }
                }
                #expect(read?.id == job.id)
                #expect(try store.withConnection { PQbackendPID($0.handle) } != pid)
            }
        }
    }

    @Test func socketsAreCloseOnExec() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, _ in
                let store = try backend.openPostgresStore()
                let flags = try store.withConnection { fcntl($0.socket, F_GETFD) }
                #expect(flags >= 0 && flags & FD_CLOEXEC != 0)
                // libpq sets it on its own: a connection this wrapper never touched has it too.
                let raw = try #require(PQconnectdb(try PostgresTestServer.requireURL()))
                defer { PQfinish(raw) }
                #expect(PQstatus(raw) == CONNECTION_OK)
                #expect(fcntl(PQsocket(raw), F_GETFD) & FD_CLOEXEC != 0)
            }
        }
    }

    @Test func changeSignalFiresWithinASecondAndSurvivesATerminatedListener() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, schema in
                let store = try backend.openStore()
                let signal = try backend.makeChangeSignal()
                let count = Locked(0)
                try signal.start { count.withLock { $0 += 1 } }
                defer { signal.stop() }
                func waitAbove(_ previous: Int, seconds: Double) -> Bool {
                    let deadline = Date().addingTimeInterval(seconds)
                    while Date() < deadline {
                        if count.withLock({ $0 }) > previous { return true }
                        usleep(2000)
                    }
                    return false
                }
                var before = count.withLock { $0 }
                _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                #expect(waitAbove(before, seconds: 1), "no change within 1 s of an enqueue")

                let admin = try PostgresTestServer.adminConnection()
                let listener = try admin.queryOnce(
                    "SELECT pid FROM pg_stat_activity WHERE query = $1", ["LISTEN \"smrt_jobs_\(schema)\""])
                #expect(listener.rowCount == 1)
                before = count.withLock { $0 }
                try admin.queryOnce("SELECT pg_terminate_backend($1::integer)", [listener.row(0).string(0)])
                #expect(waitAbove(before, seconds: 5), "a reconnected signal reports a change")
                // Listening again on a new session before the next enqueue.
                let listen = "LISTEN \"smrt_jobs_\(schema)\""
                #expect(try PostgresTestServer.eventually(within: 5) { try PostgresTestServer.sessions(running: listen) == 1 })
                before = count.withLock { $0 }
                _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                #expect(waitAbove(before, seconds: 1), "the reconnected signal hears enqueues again")
            }
        }
    }

    @Test func queuesInTwoSchemasDoNotWakeEachOther() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { first, _, firstSchema in
                try PostgresTestServer.withBackend { second, _, _ in
                    let other = try second.openStore()
                    let own = try first.openStore()
                    let signal = try first.makeChangeSignal()
                    let count = Locked(0)
                    try signal.start { count.withLock { $0 += 1 } }
                    defer { signal.stop() }
                    // Listening before the other queue's enqueue, so hearing nothing means something.
                    let listen = "LISTEN \"smrt_jobs_\(firstSchema)\""
                    #expect(try PostgresTestServer.eventually(within: 5) { try PostgresTestServer.sessions(running: listen) == 1 })
                    _ = try other.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                    // Watched for 300 ms (as long as the other queue's notification needs, many times over): silent.
                    #expect(!PostgresTestServer.eventually(within: 0.3) { count.withLock { $0 } > 0 })
                    // The same listener hears its own queue.
                    _ = try own.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                    #expect(PostgresTestServer.eventually(within: 2) { count.withLock { $0 } > 0 })
                }
            }
        }
    }

    @Test func healthReportsADroppedQueueButNotAHealthyOne() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, schema in
                #expect(backend.checkHealth() == nil, "nothing opened yet")
                _ = try backend.openStore()
                #expect(backend.checkHealth() == nil)
                try PostgresTestServer.adminConnection().exec("DROP SCHEMA \(schema) CASCADE")
                let problem = backend.checkHealth()
                #expect(problem != nil)
            }
        }
    }

    @Test func databaseTimeIsTheServersClock() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, _ in
                let time = try #require(try backend.openStore().databaseTime())
                #expect(abs(time.timeIntervalSinceNow) < 60)
            }
        }
    }

    @Test func readOnlyStoreNeverCreatesTheSchema() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, schema in
                #expect(throws: SmrtJobsError.noSuchDatabase(name: backend.displayName)) { try backend.openStore(.readOnly) }
                let exists = try PostgresTestServer.adminConnection().queryOnce(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = $1", [schema])
                #expect(exists.row(0).int(0) == 0)
            }
        }
    }

    @Test func batchRoundTripsAwkwardTextInOrder() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, _, _ in
                let store = try backend.openStore()
                let awkward = ["a\"b", "back\\slash", "{brace,comma}", "NULL", "\"\u{301}quote-combining", "é 😀", ""]
                var specs = awkward.enumerated().map { index, text in
                    JobSpec(
                        objectType: "Doc", method: "run", objectId: text.isEmpty ? nil : text, args: ["text": .string(text)],
                        queue: "q\(index)", runAt: Self.t0 + Double(index), tenantId: index % 2 == 0 ? nil : text)
                }
                specs += (0..<500).map { JobSpec(objectType: "Bulk\($0)", method: "run") }
                let ids = try store.enqueue(batch: specs, now: Self.t0)
                #expect(ids == ids.sorted() && ids.count == specs.count)
                for (id, spec) in zip(ids, specs) {
                    let job = try #require(try store.get(id: id))
                    #expect(job.objectType == spec.objectType && job.objectId == spec.objectId && job.args == spec.args)
                    #expect(job.tenantId == spec.tenantId && job.queue == spec.queue && job.runAt == (spec.runAt ?? Self.t0))
                }
            }
        }
    }

    @Test func aRowLockHeldTooLongIsBusy() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { _, url, _ in
                let backend = try PostgresBackend(url: url, lockTimeoutMs: 200)
                let store = try backend.openPostgresStore()
                let job = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: Self.t0)
                let holder = try PostgresConnection(settings: backend.settings)
                try holder.exec("BEGIN")
                try holder.queryOnce("SELECT 1 FROM _smrt_jobs WHERE id = $1::bigint FOR UPDATE", [String(job.id)])
                _ = Self.expectDatabaseError(.busy, hiding: "\u{0}") { _ = try store.cancel(id: job.id, now: Self.t0) }
                try holder.exec("ROLLBACK")
                #expect(try store.cancel(id: job.id, now: Self.t0).status == .cancelled)
            }
        }
    }

    @Test func connectionsNameThemselvesUnlessTheURLDoes() async throws {
        try await BlockingWork.run {
            try PostgresTestServer.withBackend { backend, url, _ in
                func applicationName(_ backend: PostgresBackend) throws -> String? {
                    try backend.openPostgresStore().withConnection { connection in
                        try connection.query("SELECT current_setting('application_name')").row(0).string(0)
                    }
                }
                let defaultName = try applicationName(backend)
                let givenName = try applicationName(PostgresBackend(url: url + "&application_name=billing"))
                #expect(defaultName == "smrt-jobs")
                #expect(givenName == "billing")
            }
        }
    }
}
