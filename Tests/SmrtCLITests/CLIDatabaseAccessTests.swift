import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

/// Commands that only read never create or change a database; commands that write refuse another
/// application's SQLite file unless given `--init`.
@Suite("CLI database access")
struct CLIDatabaseAccessTests {
    static let readCommands: [[String]] = [
        ["list"], ["list", "--json"], ["stats"], ["stats", "--json"], ["show", "1"], ["wait", "1", "--timeout", "200"],
        ["schedule", "list"], ["schedule", "list", "--json"],
    ]
    /// Commands that write to an existing database: they act on ids or rows that must already be there.
    static let updateCommands: [[String]] = [
        ["retry", "1"], ["cancel", "1"], ["prune", "--completed-before", "1d"], ["schedule", "pause", "1"],
        ["schedule", "enable", "1"], ["schedule", "remove", "1"],
    ]
    /// Commands that create a missing database.
    static let createCommands: [[String]] = [["enqueue", "A", "m"], ["schedule", "add", "--cron", "@daily", "--type", "A"]]

    /// Every file in the sandbox's directory (the database and any -wal, -shm or -journal beside it).
    static func files(_ sandbox: Sandbox) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sandbox.directory.path).sorted()
    }

    /// The bytes of the database and of its side files, by name.
    static func snapshot(_ sandbox: Sandbox) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        for name in try files(sandbox) {
            contents[name] = try Data(contentsOf: sandbox.directory.appendingPathComponent(name))
        }
        return contents
    }

    /// Another application's SQLite file: a table `users` with one row, rollback journal (SQLite's default).
    static func makeForeignDatabase(_ sandbox: Sandbox) throws {
        let connection = try SQLiteConnection(path: sandbox.dbPath, mode: .create)
        try connection.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO users (name) VALUES ('ada')")
    }

    @Test(arguments: readCommands + updateCommands)
    func missingDatabaseIsNotCreated(args: [String]) throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run(args), mentioning: ["no such database: \(sandbox.dbPath)"])
        let files = try Self.files(sandbox)
        #expect(files.isEmpty, "nothing may be created: \(files)")
    }

    @Test(arguments: readCommands)
    func readingAQueueChangesNoByte(args: [String]) throws {
        let sandbox = try Sandbox()
        _ = try sandbox.enqueue("A", "m")
        #expect(try sandbox.run("schedule", "add", "--cron", "@daily", "--type", "A").status == 0)
        let before = try Self.snapshot(sandbox)
        let result = try sandbox.run(args)
        #expect(!result.crashed && result.status != 2, "\(result)")
        let after = try Self.snapshot(sandbox)
        #expect(after[URL(fileURLWithPath: sandbox.dbPath).lastPathComponent] == before[URL(fileURLWithPath: sandbox.dbPath).lastPathComponent])
        // The WAL (written by the enqueue above, never checkpointed by a reader) keeps its bytes too.
        for (name, bytes) in before { #expect(after[name] == bytes, "\(name) changed") }
    }

    @Test func foreignDatabaseIsRefusedAndKeepsItsBytes() throws {
        let sandbox = try Sandbox()
        try Self.makeForeignDatabase(sandbox)
        let before = try Self.snapshot(sandbox)
        #expect(before.count == 1, "\(before.keys)")
        for args in Self.readCommands {
            expectFailure(
                try sandbox.run(args), mentioning: ["\(sandbox.dbPath) is not a smrt-jobs database (it has other tables)"])
        }
        for args in Self.createCommands + Self.updateCommands {
            expectFailure(
                try sandbox.run(args),
                mentioning: ["\(sandbox.dbPath) is not a smrt-jobs database (it has other tables); pass --init to add the smrt-jobs tables"])
        }
        #expect(try Self.snapshot(sandbox) == before, "the file (and its directory) must be exactly as before")
        let check = try SQLiteConnection(path: sandbox.dbPath, mode: .readOnly)
        #expect(try check.scalarText("PRAGMA journal_mode") == "delete", "not switched to WAL")
        #expect(try check.scalarInt("SELECT count(*) FROM sqlite_master WHERE name LIKE '\\_smrt%' ESCAPE '\\'") == 0)
    }

    @Test func initAddsTheTablesToAForeignDatabase() throws {
        let sandbox = try Sandbox()
        try Self.makeForeignDatabase(sandbox)
        let enqueue = try sandbox.run("enqueue", "A", "m", "--init")
        #expect(enqueue.status == 0, "\(enqueue)")
        #expect(enqueue.stdout == "1\n")
        // The application's table and row are intact; from now on the file is a queue like any other.
        let check = try SQLiteConnection(path: sandbox.dbPath, mode: .readOnly)
        #expect(try check.scalarText("SELECT name FROM users WHERE id = 1") == "ada")
        #expect(try sandbox.run("enqueue", "A", "m").stdout == "2\n")
        #expect(try sandbox.run("stats", "--json").stdout.hasPrefix(#"{"pending":2,"#))
        #expect(try sandbox.run("cancel", "2").status == 0)
    }

    @Test(arguments: createCommands + updateCommands)
    func initIsAcceptedByEveryWritingCommand(args: [String]) throws {
        let sandbox = try Sandbox()
        try Self.makeForeignDatabase(sandbox)
        let result = try sandbox.run(args + ["--init"])
        // The tables are added; an id that is not there is then reported as such.
        #expect(result.status == 0 || result.stderr.contains("not found"), "\(result)")
        #expect(!result.stderr.contains("not a smrt-jobs database"), "\(result)")
        #expect(try sandbox.run("stats").status == 0)
    }

    @Test func readCommandsDoNotTakeInit() throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run("list", "--init"), status: 2, mentioning: ["--init"])
        #expect(try Self.files(sandbox).isEmpty)
    }

    @Test func emptyFileIsCreatedByAWriterAndRefusedByAReader() throws {
        let sandbox = try Sandbox()
        #expect(FileManager.default.createFile(atPath: sandbox.dbPath, contents: nil))
        expectFailure(try sandbox.run("list"), mentioning: ["\(sandbox.dbPath) is not a smrt-jobs database yet (it has no tables)"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.dbPath)).isEmpty)
        #expect(try sandbox.run("enqueue", "A", "m").stdout == "1\n")
        #expect(try sandbox.run("list").lines.count == 2)
    }

    @Test func readOnlyStoreRefusesWrites() throws {
        let sandbox = try Sandbox()
        _ = try sandbox.enqueue("A", "m")
        let store = try SQLiteBackend(path: sandbox.dbPath).openStore(.readOnly)
        #expect(try store.get(id: 1)?.status == .pending)
        #expect(throws: SmrtJobsError.self) { try store.cancel(id: 1, now: Date()) }
        #expect(try sandbox.store().get(id: 1)?.status == .pending)
    }

    /// A database in a directory the user may not search: it may well exist, so the error is "cannot read ...:
    /// Permission denied", never "no such database" nor "cannot create".
    @Test func unreadableDatabaseSaysPermissionDenied() throws {
        let sandbox = try Sandbox()
        let hidden = sandbox.directory.appendingPathComponent("private", isDirectory: true)
        try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: true)
        let path = hidden.appendingPathComponent("jobs.sqlite").path
        #expect(try CLI.run(["enqueue", "A", "m", "--db", path]).status == 0)
        // rw for the owner but no search (x) permission: the file cannot be looked up.
        #expect(chmod(hidden.path, 0o600) == 0)
        defer { chmod(hidden.path, 0o700) }
        for args in [["list"], ["enqueue", "A", "m"], ["retry", "1"]] {
            let result = try Self.runUnprivileged(args + ["--db", path], sandbox: sandbox)
            expectFailure(result, mentioning: ["cannot read \(path): Permission denied"])
            #expect(!result.stderr.contains("cannot create"), "\(result)")
            #expect(!result.stderr.contains("no such database"), "\(result)")
        }
    }

    /// Runs the CLI as `nobody` when the tests run as root (root ignores permissions), else as ourselves.
    static func runUnprivileged(_ args: [String], sandbox: Sandbox) throws -> CLIResult {
        guard geteuid() == 0 else { return try CLI.run(args) }
        // nobody must reach the sandbox directory (owned by root, 0755 by default) and the binary.
        #expect(chmod(sandbox.directory.path, 0o755) == 0)
        return try CLI.run(
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", CLI.binary] + args, binary: "/usr/bin/setpriv")
    }
}
