import Foundation
import SmrtJobsConformance
import Testing

/// What `smrt-jobs` and `smrt-supervisor` say when a PostgreSQL URL is wrong or its server will not have them:
/// exit 2 for a malformed URL, 1 for everything else, a clear message, never a crash, never the password.
@Suite("CLI PostgreSQL errors", .enabled(if: CLIPostgres.enabled, CLIPostgres.skipReason))
struct CLIPostgresErrorTests {
    /// The password of every bad URL here: it must appear in no output.
    static let secret = "wrongpass"

    static let jobsCommands: [[String]] = [["list"], ["enqueue", "A", "m"]]

    /// The supervisor's flags the password must not leak through either.
    static let supervisorVariants: [[String]] = [[], ["--debug"], ["--log-format", "json"], ["--debug", "--log-format", "json"]]

    /// Runs every command on `db` and checks the exit code, that nothing crashed, that the password is nowhere, and
    /// that stderr says each of `fragments`.
    static func expectEveryBinaryFails(
        _ db: String, status: Int32, mentioning fragments: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for args in jobsCommands {
            let result = try CLI.run(args + ["--db", db])
            expectFailure(result, status: status, mentioning: fragments, sourceLocation: sourceLocation)
            #expect(result.stdout.isEmpty, "\(args): \(result)", sourceLocation: sourceLocation)
            expectNoSecret(result, "smrt-jobs \(args)", sourceLocation: sourceLocation)
        }
        for flags in supervisorVariants {
            let result = try Supervisor.run(db: db, flags)
            #expect(!result.crashed && result.status == status, "supervisor \(flags): \(result)", sourceLocation: sourceLocation)
            #expect(!result.stderr.contains("Fatal error"), "supervisor \(flags): \(result)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(
                    (result.stdout + result.stderr).contains(fragment),
                    "supervisor \(flags): expected '\(fragment)' in \(result)", sourceLocation: sourceLocation)
            }
            expectNoSecret(result, "supervisor \(flags)", sourceLocation: sourceLocation)
        }
    }

    static func expectNoSecret(_ result: CLIResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            !result.stdout.contains(secret) && !result.stderr.contains(secret), "\(what) printed the password: \(result)",
            sourceLocation: sourceLocation)
    }

    // MARK: The server cannot be used: exit 1

    @Test func refusedConnection() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let port = try CLIPostgres.closedPort()
            let url = try CLIPostgres.variant(password: Self.secret, port: port)
            try Self.expectEveryBinaryFails(url, status: 1, mentioning: ["cannot connect to PostgreSQL at 127.0.0.1:\(port)/", "refused"])
        }
    }

    @Test(arguments: [false, true])
    func wrongPassword(inQuery: Bool) throws {
        let url = inQuery
            ? try CLIPostgres.variant(user: "smrt_password_test") + "?password=\(Self.secret)"
            : try CLIPostgres.variant(user: "smrt_password_test", password: Self.secret)
        try Self.expectEveryBinaryFails(url, status: 1, mentioning: ["password authentication failed", "[REDACTED]"])
        // With the right password the same role gets in (so the failure above was the password's).
        let right = try CLIPostgres.url(CLIPostgres.variant(user: "smrt_password_test", password: "right"), schema: "smrt_cli_no_schema")
        expectFailure(try CLI.run(["list", "--db", right]), mentioning: ["no such database"])
    }

    @Test func noPasswordAtAll() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let url = try CLIPostgres.variant(user: "smrt_password_test")
            try Self.expectEveryBinaryFails(url, status: 1, mentioning: ["no password supplied"])
        }
    }

    @Test func missingDatabase() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let url = try CLIPostgres.variant(password: Self.secret, database: "no_such_db")
            try Self.expectEveryBinaryFails(url, status: 1, mentioning: ["no such database", "/no_such_db"])
            // A writing command says that it will not create the database.
            expectFailure(try CLI.run(["enqueue", "A", "m", "--db", url]), mentioning: ["createdb"])
        }
    }

    /// A setting libpq checks only when it connects, from its environment: a usage error on both binaries too.
    @Test func badSettingInTheEnvironmentIsAUsageError() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let url = try CLIPostgres.variant(password: Self.secret)
            let env = ["PGSSLMODE": "bogus"]
            let jobs = try CLI.run(["list", "--db", url], env: env)
            expectFailure(jobs, status: 2, mentioning: ["sslmode", "[REDACTED]"])
            Self.expectNoSecret(jobs, "smrt-jobs list")
            let supervisor = try Supervisor.run(db: url, ["--debug"], env: env)
            #expect(!supervisor.crashed && supervisor.status == 2, "\(supervisor)")
            #expect(supervisor.stderr.contains("sslmode"), "\(supervisor)")
            Self.expectNoSecret(supervisor, "smrt-supervisor")
        }
    }

    // MARK: A missing schema, as a missing SQLite file

    @Test(arguments: CLIDatabaseAccessTests.readCommands + CLIDatabaseAccessTests.updateCommands)
    func missingSchemaIsNoSuchDatabaseAndIsNotCreated(args: [String]) throws {
        let sandbox = try PostgresSandbox()
        expectFailure(try sandbox.run(args), mentioning: ["no such database: \(sandbox.url)"])
        #expect(try !CLIPostgres.schemaExists(sandbox.schema), "\(args) created the schema")
    }

    @Test func writingCommandsCreateTheSchema() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            for args in CLIDatabaseAccessTests.createCommands {
                let sandbox = try PostgresSandbox()
                let result = try sandbox.run(args)
                #expect(result.status == 0 && result.stdout == "1\n", "\(args): \(result)")
                #expect(try CLIPostgres.schemaExists(sandbox.schema))
            }
        }
    }

    /// Another application's schema is refused as another application's SQLite file, and `--init` adds the tables.
    @Test func foreignSchemaIsRefusedUnlessInit() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let sandbox = try PostgresSandbox()
            try CLIPostgres.psql("CREATE SCHEMA \(sandbox.schema); CREATE TABLE \(sandbox.schema).users (id int)")
            for args in CLIDatabaseAccessTests.readCommands {
                expectFailure(try sandbox.run(args), mentioning: ["\(sandbox.url) is not a smrt-jobs database (it has other tables)"])
            }
            for args in CLIDatabaseAccessTests.createCommands + CLIDatabaseAccessTests.updateCommands {
                expectFailure(try sandbox.run(args), mentioning: ["not a smrt-jobs database (it has other tables); pass --init"])
            }
            #expect(try sandbox.run(["enqueue", "A", "m", "--init"]).stdout == "1\n")
            #expect(try sandbox.run(["stats", "--json"]).stdout.hasPrefix(#"{"pending":1,"#))
        }
    }

    @Test func emptySchemaIsRefusedByAReaderAndFilledByAWriter() async throws {
        // Off the cooperative pool: it runs processes and waits on the database server.
        try await BlockingWork.run {
            let sandbox = try PostgresSandbox()
            try CLIPostgres.psql("CREATE SCHEMA \(sandbox.schema)")
            expectFailure(try sandbox.run(["list"]), mentioning: ["\(sandbox.url) is not a smrt-jobs database yet (it has no tables)"])
            #expect(try sandbox.run(["enqueue", "A", "m"]).stdout == "1\n")
            #expect(try sandbox.run(["list"]).lines.count == 2)
        }
    }
}

/// Malformed URLs need no server: these run everywhere.
@Suite("CLI PostgreSQL URLs")
struct CLIPostgresURLTests {
    // MARK: Malformed URLs: exit 2 before anything connects

    static let malformed: [(url: String, fragment: String)] = [
        ("postgresql://host:notaport/db", "notaport"),
        ("postgresql://[bad", "postgresql://[bad"),
        ("postgresql://u:\(CLIPostgresErrorTests.secret)@[bad", "[REDACTED]"),
        ("postgresql://u:\(CLIPostgresErrorTests.secret)@127.0.0.1:notaport/db", "notaport"),
        ("postgresql://u@127.0.0.1:99999/db?password=\(CLIPostgresErrorTests.secret)", "99999"),
        ("postgresql://u@127.0.0.1/db?sslmode=bogus&password=\(CLIPostgresErrorTests.secret)", "sslmode"),
        ("postgresql://u:\(CLIPostgresErrorTests.secret)@127.0.0.1/db?connect_timeout=soon", "connect_timeout"),
        ("postgres://u@127.0.0.1/db?nosuchoption=1", "nosuchoption"),
    ]

    @Test(arguments: malformed)
    func malformedURLIsAUsageError(url: String, fragment: String) throws {
        try CLIPostgresErrorTests.expectEveryBinaryFails(url, status: 2, mentioning: [fragment])
    }
}
