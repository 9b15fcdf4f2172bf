import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

@testable import SmrtJobsSQLite

/// What `StoreAccess` means for a SQLite file besides the conformance checks: another application's file is
/// refused without a byte changed (journal mode included) unless told to add our tables; read-only opens
/// leave the journal mode and schema alone.
@Suite struct SQLiteStoreAccessTests {
    /// A database of another application: a `users` table with a row, in SQLite's default rollback journal.
    private func foreignFile(_ directory: TemporaryDirectory) throws -> String {
        let path = directory.path("app.sqlite")
        let connection = try SQLiteConnection(path: path, mode: .create)
        try connection.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')")
        return path
    }

    private func files(_ directory: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
    }

    @Test func foreignDatabaseIsRefusedWithoutAChange() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try foreignFile(directory)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let backend = SQLiteBackend(path: path)
        for access in [StoreAccess.readOnly, .readOnly.addingToForeignDatabase(), .readWrite, .create] {
            do {
                _ = try backend.openStore(access)
                Issue.record("\(access) opened another application's database")
            } catch SmrtJobsError.notAQueueDatabase(let name, let hasOtherTables, let mayAddTables) {
                #expect(name == path)
                #expect(hasOtherTables)
                #expect(mayAddTables == access.writes)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try files(directory) == ["app.sqlite"], "no -wal, -shm or -journal left behind")
        #expect(try SQLiteConnection(path: path, mode: .readOnly).scalarText("PRAGMA journal_mode") == "delete")
    }

    @Test func addingToAForeignDatabaseKeepsItsTables() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try foreignFile(directory)
        let store = try SQLiteBackend(path: path).openSQLiteStore(.readWrite.addingToForeignDatabase())
        #expect(try store.enqueue(JobSpec(objectType: "A", method: "m"), now: Date()).id == 1)
        try store.withConnection { connection throws in
            #expect(try connection.scalarText("SELECT name FROM users") == "ada")
            #expect(try connection.scalarText("PRAGMA journal_mode") == "wal")
        }
        // From now on it is a queue: no --init needed.
        #expect(try SQLiteBackend(path: path).openStore(.create).get(id: 1) != nil)
        #expect(try SQLiteBackend(path: path).openStore(.readOnly).get(id: 1) != nil)
    }

    @Test func readOnlyLeavesJournalModeAndBytesAlone() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("jobs.sqlite")
        do {
            let store = try SQLiteJobStore(path: path)
            _ = try store.enqueue(JobSpec(objectType: "A", method: "m"), now: Date())
        }
        // Back to a rollback journal, everything in the main file (as a copied or restored backup would be).
        try SQLiteConnection(path: path, mode: .readWrite).exec("PRAGMA journal_mode=DELETE")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let reader = try SQLiteJobStore(path: path, access: .readOnly)
        #expect(try reader.get(id: 1)?.objectType == "A")
        try reader.withConnection { connection throws in
            #expect(try connection.scalarText("PRAGMA journal_mode") == "delete")
            #expect(throws: SmrtJobsError.self) { try connection.exec("CREATE TABLE x (y)") }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try files(directory) == ["jobs.sqlite"])
    }

    /// `smrt-jobs wait` watches the database with the change signal: it must not switch a queue to WAL (nor
    /// create a missing file) any more than the read-only store does.
    @Test func changeSignalCreatesAndSwitchesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = SQLiteChangeSignal(path: directory.path("missing.sqlite"))
        #expect(throws: SmrtJobsError.noSuchDatabase(name: directory.path("missing.sqlite"))) { try missing.start { } }
        missing.stop()
        #expect(try files(directory).isEmpty)

        let path = directory.path("jobs.sqlite")
        do {
            _ = try SQLiteJobStore(path: path).enqueue(JobSpec(objectType: "A", method: "m"), now: Date())
        }
        try SQLiteConnection(path: path, mode: .readWrite).exec("PRAGMA journal_mode=DELETE")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let signal = SQLiteChangeSignal(path: path)
        try signal.start { }
        signal.stop()
        #expect(try SQLiteConnection(path: path, mode: .readOnly).scalarText("PRAGMA journal_mode") == "delete")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func readOnlyRefusesAnEmptyFileAndAnOtherSchemaVersion() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let empty = directory.path("empty.sqlite")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(throws: SmrtJobsError.notAQueueDatabase(name: empty, hasOtherTables: false, mayAddTables: false)) {
            try SQLiteJobStore(path: empty, access: .readOnly)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
        // A writer makes it a queue, as before.
        _ = try SQLiteJobStore(path: empty, access: .readWrite)

        let newer = directory.path("newer.sqlite")
        _ = try SQLiteJobStore(path: newer)
        try SQLiteConnection(path: newer).exec("PRAGMA user_version = 99")
        do {
            _ = try SQLiteJobStore(path: newer, access: .readOnly)
            Issue.record("read a schema version it does not know")
        } catch SmrtJobsError.database(let kind, let message) {
            #expect(kind == .fatal)
            #expect(message.contains("schema version 99"), "\(message)")
        }
    }

    @Test func notADatabaseIsAnErrorAndUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("notes.txt")
        let text = Data(String(repeating: "not a database\n", count: 100).utf8)
        try text.write(to: URL(fileURLWithPath: path))
        for access in [StoreAccess.readOnly, .create.addingToForeignDatabase()] {
            #expect(throws: SmrtJobsError.self) { try SQLiteJobStore(path: path, access: access) }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text)
    }
}
