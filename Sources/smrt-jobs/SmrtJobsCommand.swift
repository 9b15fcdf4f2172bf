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
            Every subcommand takes --db PATH|URL: a SQLite file or a postgres:// URL (default: $SMRT_DB, else \
            ./smrt-jobs.sqlite). Commands that only \
            read (list, show, stats, wait, schedule list) never create or change a database: a missing one is \
            "no such database". Commands that write refuse a database that holds other tables but none of \
            smrt-jobs' unless given --init; enqueue and schedule add create a missing one.
            Exit codes: 0 ok, 1 failure (bad value, unknown id, refused transition), 2 usage error, \
            3 `wait` timed out.
            """,
        subcommands: [
            EnqueueCommand.self, ListCommand.self, ShowCommand.self, StatsCommand.self, RetryCommand.self,
            CancelCommand.self, WaitCommand.self, PruneCommand.self, CronCommand.self, ScheduleCommand.self,
            QueueCommand.self,
        ])
}

/// `--db PATH`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "The queue: a SQLite file or a postgres:// URL (default: $SMRT_DB, else ./smrt-jobs.sqlite).", valueName: "db"))
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
            // A malformed --db (a URL libpq cannot parse, an unknown scheme) is a usage error.
            let usage = if case .invalidValue = error { true } else { false }
            throw CLIError("cannot open database '\(ArgumentRedaction.redact(text: path))': \(error)", exitCode: usage ? 2 : 1)
        }
    }

    /// Opens the database for a command that only reads: it must exist and hold the smrt-jobs tables, and is
    /// neither created, migrated nor changed ("no such database: PATH" for a mistyped path).
    func openForReading() throws -> any JobStore & ScheduleStore {
        try open(.readOnly)
    }

    /// Opens the database for a command that writes: created when missing if `creating` (enqueue, schedule
    /// add), else it must exist (retry, cancel, prune...); another application's database is refused unless
    /// `--init` was given.
    func openForWriting(creating: Bool, _ initOption: InitOption) throws -> any JobStore & ScheduleStore {
        try open(StoreAccess(mode: creating ? .create : .readWrite, addsToForeignDatabase: initOption.addTables))
    }

    /// A read-only async `JobQueue` on the database (for `wait`, which sleeps on its change signal).
    func openQueueForReading() async throws -> JobQueue {
        let backend = try backend()
        do {
            return try await JobQueue(backend: backend, access: .readOnly)
        } catch let error as SmrtJobsError {
            throw Self.openFailure(error, backend)
        }
    }

    private func open(_ access: StoreAccess) throws -> any JobStore & ScheduleStore {
        let backend = try backend()
        do {
            return try backend.openStore(access)
        } catch let error as SmrtJobsError {
            throw Self.openFailure(error, backend)
        }
    }

    /// A missing or foreign database is said as it is; other failures name the database first.
    private static func openFailure(_ error: SmrtJobsError, _ backend: any JobBackend) -> CLIError {
        switch error {
        case .noSuchDatabase, .notAQueueDatabase: return CLIError(error.description)
        // A setting libpq rejects only when it connects (e.g. PGSSLMODE=bogus): a usage error, as a malformed --db.
        case .invalidValue: return CLIError("cannot open database '\(backend.displayName)': \(error)", exitCode: 2)
        default: return CLIError("cannot open database '\(backend.displayName)': \(error)")
        }
    }
}

/// `--init`, for the commands that write: lets them add the smrt-jobs tables to a database that holds other
/// tables (another application's SQLite file), which they refuse otherwise.
struct InitOption: ParsableArguments {
    @Flag(
        name: .customLong("init"),
        help: "Add the smrt-jobs tables to a database that holds other tables (refused without it).")
    var addTables = false
}

/// `--reveal`, for the commands that print args, results and errors: print them as stored. By default
/// values of secret-looking keys (password, token, auth, session, cookie, ...) and URL passwords are shown
/// as `[REDACTED]`, so a terminal, a pasted output or a CI log does not leak them.
struct RevealOption: ParsableArguments {
    @Flag(help: "Print args, results and errors as stored, secrets included (for an administrator).")
    var reveal = false

    static let discussion = """
        Args, results and errors are printed with the values of secret-looking keys (password, token, auth, \
        session, cookie, private_key, ...) and URL passwords replaced by [REDACTED]; --reveal prints them as stored.
        """
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
