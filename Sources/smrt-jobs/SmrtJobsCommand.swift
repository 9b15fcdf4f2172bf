import ArgumentParser
import Foundation
import SmrtBackends
import SmrtJobs

/// The root command: `smrt-jobs <subcommand>`.
struct SmrtJobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smrt-jobs",
        abstract: "Inspect and manage smrt-jobs background jobs and cron schedules.",
        discussion: """
            Every subcommand takes --db PATH (default: $SMRT_DB, else ./smrt-jobs.sqlite).
            Exit codes: 0 ok, 1 failure (bad value, unknown id, refused transition), 2 usage error, \
            3 `wait` timed out.
            """,
        subcommands: [
            EnqueueCommand.self, ListCommand.self, ShowCommand.self, StatsCommand.self, RetryCommand.self,
            CancelCommand.self, WaitCommand.self, PruneCommand.self, CronCommand.self, ScheduleCommand.self,
        ])
}

/// `--db PATH`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp("The database file (default: $SMRT_DB, else ./smrt-jobs.sqlite).", valueName: "path"))
    var db: String?

    static let defaultPath = "./smrt-jobs.sqlite"

    var path: String {
        if let db { return db }
        if let fromEnvironment = ProcessInfo.processInfo.environment["SMRT_DB"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return Self.defaultPath
    }

    func validate() throws {
        if db?.isEmpty == true { throw ValidationError("--db must not be empty") }
    }

    /// The backend `--db` names.
    func backend() throws -> any JobBackend {
        do {
            return try Backends.open(path)
        } catch let error as SmrtJobsError {
            throw CLIError("cannot open database '\(ArgumentRedaction.redact(text: path))': \(error)")
        }
    }

    /// Opens the database, creating it when it does not exist (commands that write).
    func open() throws -> any JobStore & ScheduleStore {
        let backend = try backend()
        do {
            return try backend.openStore()
        } catch let error as SmrtJobsError {
            throw CLIError("cannot open database '\(backend.displayName)': \(error)")
        }
    }

    /// Opens the database if the file exists; nil otherwise. Commands that only read (or that act on an
    /// existing id) treat a missing file as an empty database instead of creating one.
    func openExisting() throws -> (any JobStore & ScheduleStore)? {
        FileManager.default.fileExists(atPath: path) ? try open() : nil
    }

    /// An async `JobQueue` on the database if the file exists (for `wait`, which sleeps on its change
    /// signal); nil otherwise.
    func openExistingQueue() async throws -> JobQueue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try await JobQueue(backend: backend())
        } catch let error as SmrtJobsError {
            throw CLIError("cannot open database '\(path)': \(error)")
        }
    }
}

/// A failure the CLI reports itself: `smrt-jobs: error: <message>` on stderr, then `exitCode`.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

enum CLI {
    static let name = "smrt-jobs"

    /// Parses the arguments, runs the command, and maps every outcome to an exit code:
    /// 0 ok (also `--help`), 1 runtime failure, 2 usage error, 3 `wait` timeout.
    /// ArgumentParser would exit 64 on usage errors and print its own `Error:` prefix; this does not.
    static func run(_ arguments: [String]? = nil) async -> Int32 {
        do {
            var command = try SmrtJobsCommand.parseAsRoot(movingLeadingDatabaseOption(
                arguments ?? Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            return report(error)
        }
    }

    /// Lets `--db PATH` come before the subcommand too (`smrt-jobs --db x.sqlite list`): ArgumentParser only
    /// knows it as an option of each subcommand, so leading occurrences move behind the subcommand's
    /// arguments (before a `--` terminator, if any).
    static func movingLeadingDatabaseOption(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var moved: [String] = []
        while let first = rest.first {
            if first == "--db", rest.count >= 2 {
                moved += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--db=") {
                moved.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard !moved.isEmpty, !rest.isEmpty else { return arguments }
        var result = Array(rest)
        result.insert(contentsOf: moved, at: result.firstIndex(of: "--") ?? result.endIndex)
        return result
    }

    static func report(_ error: Error) -> Int32 {
        switch error {
        case let exit as ExitCode:
            return exit.rawValue
        case let failure as CLIError:
            printError(failure.message)
            return failure.exitCode
        case let failure as SmrtJobsError:
            printError(failure.description)
            return 1
        case let failure as JobSpecDecodingError:
            printError(failure.description)
            return 1
        default:
            let code = SmrtJobsCommand.exitCode(for: error)
            var text = SmrtJobsCommand.fullMessage(for: error)
            if code == .success {
                if !text.isEmpty { print(text) }
                return 0
            }
            if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
            if text.isEmpty { text = "\(error)" }
            printError(text)
            return code == .validationFailure ? 2 : 1
        }
    }

    /// Writes `smrt-jobs: error: <message>` to stderr, with passwords in URLs and secret values redacted.
    static func printError(_ message: String) {
        let message = ArgumentRedaction.redact(text: message)
        FileHandle.standardError.write(Data("\(name): error: \(message)\n".utf8))
    }
}
