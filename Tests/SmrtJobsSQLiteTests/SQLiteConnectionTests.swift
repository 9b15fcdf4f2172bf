import CSQLite
import Foundation
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

@Suite("SQLite connection")
struct SQLiteConnectionTests {
    func withConnection(_ body: (SQLiteConnection) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "smrt-sqlite-conn")
        defer { directory.remove() }
        try {
            let connection = try SQLiteConnection(path: directory.path("c.sqlite"))
            try connection.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, d TEXT, j TEXT)")
            try body(connection)
        }()
    }

    @Test func preparedStatementsAreCachedBySQL() throws {
        try withConnection { c in
            let a = try c.prepare("SELECT 1")
            let b = try c.prepare("SELECT 1")
            let other = try c.prepare("SELECT 2")
            #expect(a === b)
            #expect(a !== other)
        }
    }

    @Test func errorsCarryKindAndMessage() throws {
        try withConnection { c in
            do {
                _ = try c.prepare("SELEKT nothing")
                Issue.record("no error")
            } catch SmrtJobsError.database(let kind, let message) {
                #expect(kind == .other)
                #expect(message.contains("syntax error"))
            }
            do {
                try c.exec("INSERT INTO missing VALUES (1)")
                Issue.record("no error")
            } catch SmrtJobsError.database(let kind, let message) {
                #expect(kind == .other)
                #expect(message.contains("no such table"))
            }
        }
    }

    @Test func bindsAndReadsEveryType() throws {
        try withConnection { c in
            let date = Date(timeIntervalSince1970: 1_800_000_000.125)
            try c.run("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)") { s in
                try s.bind(Int64.max, 1)
                try s.bind(2.5, 2)
                try s.bind("héllo 😀", 3)
                try s.bind(date, 4)
                try s.bind(["k": [1, 2]] as JSONValue, 5)
            }
            try c.run("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)") { s in
                try s.bind(nil as Int64?, 1)
                try s.bind(nil as Double?, 2)
                try s.bind("", 3)
                try s.bind(nil as Date?, 4)
                try s.bind(nil as JSONValue?, 5)
            }
            try c.withStatement("SELECT i, r, s, d, j FROM t ORDER BY rowid") { s throws in
                #expect(try s.step())
                #expect(s.int64(0) == Int64.max)
                #expect(s.double(1) == 2.5)
                #expect(s.string(2) == "héllo 😀")
                #expect(s.string(3) == "2027-01-15T08:00:00.125Z")
                #expect(s.date(3) == date)
                #expect(s.string(4) == #"{"k":[1,2]}"#)
                #expect(try s.step())
                #expect(s.isNull(0) && s.isNull(1) && s.isNull(3) && s.isNull(4))
                // The empty string is text, not NULL.
                #expect(!s.isNull(2) && s.string(2) == "")
                #expect(try !s.step())
            }
        }
    }

    @Test func transactionsCommitOrRollBack() throws {
        try withConnection { c in
            struct Boom: Error {}
            let failed = Result {
                try c.transaction { () throws -> Int in
                    try c.run("INSERT INTO t (i) VALUES (1)")
                    throw Boom()
                }
            }
            #expect(throws: Boom.self) { try failed.get() }
            #expect(!c.isInTransaction)
            #expect(try c.scalarInt("SELECT COUNT(*) FROM t") == 0)
            try c.transaction {
                try c.run("INSERT INTO t (i) VALUES (1)")
                // A nested call joins the open transaction.
                try c.transaction(immediate: false) { try c.run("INSERT INTO t (i) VALUES (2)") }
                #expect(c.isInTransaction)
            }
            #expect(try c.scalarInt("SELECT COUNT(*) FROM t") == 2)
            #expect(c.changes == 1)
            #expect(c.lastInsertRowID == 2)
        }
    }

    @Test func statementsAreResetAfterUse() throws {
        try withConnection { c in
            try c.exec("INSERT INTO t (i) VALUES (1), (2), (3)")
            // Stop after the first row: the statement must not keep its read open nor its bindings.
            let first = try c.withStatement("SELECT i FROM t WHERE i >= ?1 ORDER BY i") { s in
                try s.bind(2, 1)
                return try s.step() ? s.int(0) : nil
            }
            #expect(first == 2)
            let unbound = try c.withStatement("SELECT i FROM t WHERE i >= ?1 ORDER BY i") { s in
                try s.step() ? s.int(0) : nil
            }
            #expect(unbound == nil)  // `i >= NULL` matches nothing
            try c.transaction { try c.run("DELETE FROM t") }
        }
    }
}
