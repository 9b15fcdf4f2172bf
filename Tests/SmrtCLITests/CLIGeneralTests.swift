import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

@Suite("CLI general")
struct CLIGeneralTests {
    @Test(arguments: [["--help"], ["enqueue", "--help"], ["help", "schedule"], ["schedule", "add", "--help"]])
    func helpExits0(args: [String]) throws {
        let result = try CLI.run(args)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE:"))
        #expect(result.stderr.isEmpty)
    }

    @Test func rootHelpListsEverySubcommand() throws {
        let result = try CLI.run(["--help"])
        for name in ["enqueue", "list", "show", "stats", "retry", "cancel", "wait", "prune", "cron", "schedule"] {
            #expect(result.stdout.contains("  \(name) "), "missing \(name)")
        }
    }

    @Test(arguments: [["frobnicate"], ["list", "--frob"], ["cron", "previous", "@daily"]])
    func unknownSubcommandOrFlagExits2(args: [String]) throws {
        let result = try CLI.run(args)
        expectFailure(result, status: 2, mentioning: [])
        #expect(result.stderr.contains("Usage:"))
    }

    @Test func databaseFromEnvironment() throws {
        let sandbox = try Sandbox()
        let result = try CLI.run(["enqueue", "A", "m"], env: ["SMRT_DB": sandbox.dbPath])
        #expect(result.status == 0, "\(result)")
        #expect(try sandbox.jobCount() == 1)
        let stats = try CLI.run(["stats", "--json"], env: ["SMRT_DB": sandbox.dbPath])
        #expect(stats.stdout.hasPrefix(#"{"pending":1,"#))
        // --db wins over SMRT_DB.
        let other = try Sandbox()
        _ = try CLI.run(["enqueue", "B", "m", "--db", other.dbPath], env: ["SMRT_DB": sandbox.dbPath])
        #expect(try sandbox.jobCount() == 1)
        #expect(try other.jobCount() == 1)
    }

    @Test func defaultDatabaseInWorkingDirectory() throws {
        let sandbox = try Sandbox()
        let result = try CLI.run(["enqueue", "A", "m"], cwd: sandbox.directory)
        #expect(result.status == 0, "\(result)")
        let path = sandbox.directory.appendingPathComponent("smrt-jobs.sqlite").path
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try SQLiteJobStore(path: path).stats(queue: nil).pending == 1)
    }

    @Test func databaseOptionBeforeTheSubcommand() throws {
        let sandbox = try Sandbox()
        #expect(try CLI.run(["--db", sandbox.dbPath, "enqueue", "A", "m"]).status == 0)
        #expect(try CLI.run(["--db=\(sandbox.dbPath)", "enqueue", "A", "m"]).status == 0)
        #expect(try sandbox.jobCount() == 2)
        let stats = try CLI.run(["--db", sandbox.dbPath, "stats", "--json"])
        #expect(stats.stdout.hasPrefix(#"{"pending":2,"#))
    }

    @Test func unopenableDatabaseIsARuntimeError() throws {
        let sandbox = try Sandbox()
        let path = sandbox.directory.appendingPathComponent("missing-dir/jobs.sqlite").path
        expectFailure(try CLI.run(["enqueue", "A", "m", "--db", path]), mentioning: ["cannot open database", path])
    }
}
