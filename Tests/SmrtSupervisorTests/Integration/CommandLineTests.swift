import Foundation
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsSQLite
import Testing

extension IntegrationTests {
    /// The `smrt-supervisor` command line: bad flags exit 2 with a clear message.
    @Suite struct CommandLine {
        private func run(_ arguments: [String]) throws -> (ChildExit, String) {
            let db = try TestDatabase()
            let process = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath, arguments: arguments, logPath: db.file("cli.log"))
            let exit = try process.waitForExit()
            return (exit, process.logText)
        }

        @Test func badFlagsExitTwo() throws {
            let (missing, missingText) = try run(["--workers", "2"])
            #expect(missing == .exited(2))
            #expect(missingText.contains("--worker-exec"))
            let (quote, quoteText) = try run(["--worker-exec", "'unterminated"])
            #expect(quote == .exited(2))
            #expect(quoteText.contains("unterminated single quote"))
            let (format, formatText) = try run(["--worker-exec", "w", "--log-format", "xml"])
            #expect(format == .exited(2))
            #expect(formatText.contains("--log-format must be text or json"))
            let (negative, _) = try run(["--worker-exec", "w", "--lease-ttl", "0"])
            #expect(negative == .exited(2))
        }

        /// `--pipeline N`: RUNs in flight to one worker, 1 to 64; `--short-job-threshold MS` (hidden, for tests): 0 to an
        /// hour. Anything else is a usage error naming the flag.
        @Test(arguments: [
            ("--pipeline", "0", "must be between 1 and 64"), ("--pipeline", "65", "must be between 1 and 64"),
            ("--pipeline", "-1", "must be between 1 and 64"), ("--short-job-threshold", "-1", "must be 0 to 3600000 ms"),
            ("--short-job-threshold", "nan", "must be 0 to 3600000 ms"),
            ("--short-job-threshold", "3600001", "must be 0 to 3600000 ms"),
        ])
        func anOptionOutOfRangeExitsTwo(_ flag: String, _ value: String, _ reason: String) async throws {
            try await BlockingWork.run {
                let (exit, text) = try run(["--worker-exec", "w", "\(flag)=\(value)"])
                #expect(exit == .exited(2))
                #expect(text.contains(flag) && text.contains(reason), "\(text)")
            }
        }

        /// Another application's SQLite file (a mistyped --db) is refused, byte for byte unchanged, unless
        /// --init says to add the smrt-jobs tables to it.
        @Test func foreignDatabaseNeedsInit() throws {
            let db = try TestDatabase()
            let path = db.file("app.sqlite")
            try SQLiteConnection(path: path, mode: .create).exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let arguments = ["--db", path, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json"]
            let refused = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath, arguments: arguments, logPath: db.file("refused.log"))
            #expect(try refused.waitForExit() == .exited(1))
            #expect(
                refused.logText.contains("\(path) is not a smrt-jobs database (it has other tables); pass --init"),
                "\(refused.logText)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))

            let adopted = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath, arguments: arguments + ["--init"], logPath: db.file("init.log"))
            _ = try adopted.waitFor("supervisor_started")
            adopted.signal(SIGTERM)
            #expect(try adopted.waitForExit() == .exited(0))
            let store = try SQLiteJobStore(path: path, access: .readOnly)
            #expect(try store.stats(queue: nil) == JobStats())
            #expect(try store.withConnection { try $0.scalarInt("SELECT count(*) FROM users") } == 0)
        }

        @Test func unopenableDatabaseExitsOne() throws {
            let (exit, text) = try run(["--db", "/nonexistent/dir/jobs.sqlite", "--worker-exec", "w"])
            #expect(exit == .exited(1))
            #expect(text.contains("cannot open database"))
        }
    }
}
