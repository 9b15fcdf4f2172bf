import Foundation
import SmrtBackends
import SmrtJobs
@testable import SmrtJobsPostgres
import Testing

/// URLs: checked before connecting, and never shown with their password.
@Suite("PostgreSQL URLs")
struct PostgresSettingsTests {
    @Test(arguments: [
        "postgresql://svc:s3cretPW@db.internal:5432/app",
        "postgres://svc:s3cretPW@db/app?sslmode=disable",
        "postgresql://svc@db/app?password=s3cretPW",
        "postgresql://svc@db/app?sslmode=disable&password=s3cretPW&connect_timeout=3",
    ])
    func displayNameHidesThePassword(_ url: String) throws {
        let backend = try PostgresBackend(url: url)
        #expect(!backend.displayName.contains("s3cretPW"))
        #expect(backend.displayName.contains("[REDACTED]"))
        #expect(backend.displayName.contains("db"))
    }

    @Test(arguments: [
        "postgresql://svc:s3cretPW@db/app?bogus=1",
        "postgresql://svc:s3cretPW@[::1/app",
        "postgresql://svc:s3cr%zzPW@db/app",
    ])
    func malformedURLsAreInvalidValuesWithoutThePassword(_ url: String) throws {
        for open in [{ _ = try PostgresBackend(url: url) }, { _ = try Backends.open(url) }] as [() throws -> Void] {
            do {
                try open()
                Issue.record("\(url) was accepted")
            } catch let error as SmrtJobsError {
                guard case .invalidValue(let field, _, _) = error else {
                    Issue.record("expected invalidValue, got \(error)")
                    continue
                }
                #expect(field == "database")
                #expect(!error.description.contains("s3cr"), "\(error.description)")
            }
        }
    }

    @Test func backendsOpenKnowsBothSchemes() throws {
        #expect(try Backends.open("postgres://svc@db/app") is PostgresBackend)
        #expect(try Backends.open("postgresql://svc:pw@db/app").displayName == "postgresql://svc:[REDACTED]@db/app")
    }

    @Test func channelNamesAreValidPerSchemaAndShort() {
        #expect(PostgresSchema.channel(forSchema: "public") == "smrt_jobs")
        #expect(PostgresSchema.channel(forSchema: "queue_a") == "smrt_jobs_queue_a")
        #expect(PostgresSchema.channel(forSchema: "queue_a") != PostgresSchema.channel(forSchema: "queue_b"))
        let long = String(repeating: "x", count: 63)
        let odd = "Queue \"A\"; DROP"
        for schema in [long, odd, "É"] {
            let channel = PostgresSchema.channel(forSchema: schema)
            #expect(channel.utf8.count <= 63)
            #expect(channel.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        }
        #expect(PostgresSchema.channel(forSchema: long) != PostgresSchema.channel(forSchema: long + "y"))
    }

    @Test func firstSchemaOfASearchPath() {
        #expect(PostgresSchema.firstSchema(ofSearchPath: "smrt_t_1") == "smrt_t_1")
        #expect(PostgresSchema.firstSchema(ofSearchPath: "\"$user\", public") == "$user")
        #expect(PostgresSchema.firstSchema(ofSearchPath: " \"My \"\"Q\"\"\" ,public") == "My \"Q\"")
        #expect(PostgresSchema.firstSchema(ofSearchPath: "") == nil)
    }

    @Test func sqlStatesSortIntoKinds() {
        #expect(PostgresError.kind(sqlState: "40001") == .busy)
        #expect(PostgresError.kind(sqlState: "40P01") == .busy)
        #expect(PostgresError.kind(sqlState: "55P03") == .busy)
        #expect(PostgresError.kind(sqlState: "08006") == .unavailable)
        #expect(PostgresError.kind(sqlState: "57P01") == .unavailable)
        #expect(PostgresError.kind(sqlState: "28P01") == .fatal)
        #expect(PostgresError.kind(sqlState: "3D000") == .fatal)
        #expect(PostgresError.kind(sqlState: "53100") == .fatal)
        #expect(PostgresError.kind(sqlState: "23505") == .badInput)
        #expect(PostgresError.kind(sqlState: "22P02") == .badInput)
        #expect(PostgresError.kind(sqlState: "42P01") == .other)
    }
}
