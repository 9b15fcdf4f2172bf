import ArgumentParser
import Foundation
import SmrtBackends
import SmrtJobs
import SmrtSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// `smrt-supervisor`: flags → `SupervisorConfiguration` → `Supervisor.run()`. Exit 0 after a clean shutdown,
/// 1 for a runtime error, 2 for bad flags.
struct SupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smrt-supervisor",
        abstract: "Runs smrt-jobs from a queue database (SQLite or PostgreSQL) in crash-isolated worker processes.",
        discussion: """
            Signals: TERM/INT stop gracefully (a second one stops at once), QUIT stops at once, HUP restarts the \
            workers one by one, TTIN/TTOU add/remove a worker. See docs/supervisor.md.
            """)

    @Option(help: "The queue: a SQLite file or a postgres:// URL (default: $SMRT_DB, else ./smrt-jobs.sqlite).")
    var db: String?

    @Option(help: "How many worker processes to run.")
    var workers: Int = 2

    @Option(name: .customLong("worker-exec"), help: "The worker command line, split with shell quoting rules.")
    var workerExec: String

    @Option(help: "Comma-separated queues to take jobs from (default: all).")
    var queues: String?

    @Option(name: .customLong("poll-interval"), help: "Fallback poll for ready jobs, in ms.")
    var pollInterval: Int = 1000

    @Option(name: .customLong("heartbeat-interval"), help: "Lease heartbeat period, in ms.")
    var heartbeatInterval: Int = 5000

    @Option(name: .customLong("lease-ttl"), help: "A lease without heartbeat for this long is dead, in ms.")
    var leaseTTL: Int = 30_000

    @Option(name: .customLong("shutdown-timeout"), help: "How long TERM waits for running jobs, in ms.")
    var shutdownTimeout: Int = 30_000

    @Option(name: .customLong("worker-start-timeout"), help: "How long a new worker may take to be ready, in ms.")
    var workerStartTimeout: Int = 10_000

    @Option(name: .customLong("cancel-grace"), help: "For timeout behaviour 'fail': ms between CANCEL and SIGKILL.")
    var cancelGrace: Int = 2000

    @Option(name: .customLong("max-jobs-per-worker"), help: "Replace a worker after this many jobs.")
    var maxJobsPerWorker: Int?

    @Option(name: .customLong("max-worker-rss"), help: "Replace a worker whose RSS exceeds this many MB (between jobs).")
    var maxWorkerRSS: Int?

    @Option(help: "Jobs per worker claimed ahead at most (about 20 ms of work), so a finishing worker gets its next job at once (0: none).")
    var prefetch: Int = SupervisorConfiguration.defaultPrefetch

    @Option(
        help: ArgumentHelp(
            "RUNs in flight to one worker of protocol 4 at most while jobs are short (queued: about 2 ms of work, at least one); 1: one at a time.",
            valueName: "N"))
    var pipeline: Int = SupervisorConfiguration.defaultPipeline

    @Option(name: .customLong("commit-window"), help: "How long a result may wait (ms) to share its database commit with others.")
    var commitWindow: Double = SupervisorConfiguration.defaultCommitWindowMs

    // For tests: a loaded machine can make a quick job take more than 50 ms, and so not "short".
    @Option(name: .customLong("short-job-threshold"), help: .hidden)
    var shortJobThreshold: Double = SupervisorConfiguration.defaultShortJobMs

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: String = "text"

    @Option(name: .customLong("busy-timeout"), help: .hidden)
    var busyTimeout: Int32 = 5000

    @Option(name: .customLong("worker-memory-limit"), help: "Address-space limit (RLIMIT_AS) of each worker, in MB.")
    var workerMemoryLimit: Int?

    @Option(name: .customLong("worker-cpu-limit"), help: "CPU time a job may use (RLIMIT_CPU of its worker), in seconds.")
    var workerCPULimit: Int?

    @Option(
        name: .customLong("worker-nice"),
        help: "Added to the workers' nice value (0-19), so the supervisor gets a core first and kills on time.")
    var workerNice: Int = SupervisorConfiguration.defaultWorkerNice

    @Option(help: "Run the workers as this user (the supervisor must run as root).")
    var user: String?

    @Option(
        name: .customLong("worker-env"),
        help: ArgumentHelp(
            "An environment variable for the workers: KEY=VALUE, or KEY for the supervisor's own value (repeatable).",
            valueName: "KEY[=VALUE]"))
    var workerEnv: [String] = []

    @Flag(
        name: .customLong("worker-clear-env"),
        help: "Start workers from an empty environment (PATH and --worker-env only), not the supervisor's.")
    var workerClearEnv = false

    @Option(name: .customLong("db-mode"), help: "Permissions of the database file if it is created (octal).")
    var dbMode: String = "0600"

    @Option(
        help: ArgumentHelp(
            "How long finished jobs are kept before they are pruned, per status ('never' keeps them).",
            valueName: "completed=7d,cancelled=7d,failed=30d"))
    var retain: String?

    @Option(name: .customLong("retain-interval"), help: .hidden)
    var retainInterval = 60_000

    @Option(name: .customLong("db-check-interval"), help: .hidden)
    var dbCheckInterval: Int = 1000

    @Flag(help: "Log more detail, including job args (secrets redacted).")
    var debug = false

    @Flag(
        name: .customLong("init"),
        help: "Add the smrt-jobs tables to a database that holds other tables (refused without it).")
    var addTables = false

    func makeConfiguration() throws -> SupervisorConfiguration {
        let command: [String]
        do {
            command = try ShellWords.split(workerExec)
        } catch {
            throw ValidationError("--worker-exec: \(error)")
        }
        guard !command.isEmpty else { throw ValidationError("--worker-exec must name a program") }
        guard let format = SupervisorConfiguration.LogFormat(rawValue: logFormat) else {
            throw ValidationError("--log-format must be text or json, not '\(logFormat)'")
        }
        guard let mode = UInt16(dbMode, radix: 8), mode & ~0o777 == 0 else {
            throw ValidationError("--db-mode must be octal permission bits such as 0600 or 0640, not '\(dbMode)'")
        }
        let database = db ?? ProcessInfo.processInfo.environment["SMRT_DB"] ?? "./smrt-jobs.sqlite"
        do {
            // A malformed --db (a URL libpq cannot parse, an unknown scheme) is a usage error: exit 2.
            _ = try Backends.open(database)
        } catch {
            throw ValidationError("--db: \(error)")
        }
        let queueList = queues.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        var configuration = SupervisorConfiguration(
            database: database,
            workerExec: command, workers: workers, queues: queueList, pollInterval: pollInterval,
            heartbeatInterval: heartbeatInterval, leaseTTL: leaseTTL, shutdownTimeout: shutdownTimeout,
            workerStartTimeout: workerStartTimeout, cancelGrace: cancelGrace, maxJobsPerWorker: maxJobsPerWorker,
            maxWorkerRSSMB: maxWorkerRSS, logFormat: format, debug: debug,
            backendOptions: BackendOptions(busyTimeoutMs: busyTimeout, fileMode: mode),
            workerMemoryLimitMB: workerMemoryLimit, workerCPULimitSeconds: workerCPULimit, workerUser: user,
            healthCheckInterval: dbCheckInterval)
        configuration.prefetch = prefetch
        configuration.pipeline = pipeline
        configuration.workerNice = workerNice
        configuration.commitWindowMs = commitWindow
        configuration.shortJobMs = shortJobThreshold
        for entry in workerEnv {
            if let equals = entry.firstIndex(of: "=") {
                configuration.environment[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            } else {
                configuration.passedEnvironment.append(entry)
            }
        }
        configuration.clearWorkerEnvironment = workerClearEnv
        do {
            configuration.retention = try retain.map(RetentionPolicy.init(parsing:)) ?? .standard
        } catch {
            throw ValidationError("--retain: \(error)")
        }
        configuration.retentionInterval = retainInterval
        configuration.addsToForeignDatabase = addTables
        do {
            try configuration.validate()
        } catch let error as SupervisorError {
            throw ValidationError(error.description)
        }
        return configuration
    }
}

func fail(_ message: String, code: Int32) -> Never {
    // After the log lines still queued, and never waiting long for a stderr nobody reads.
    SupervisorLogHandler.writeMessage("smrt-supervisor: \(message)")
    exit(code)
}

// First: a TERM from here on waits for the supervisor's handlers instead of killing the process.
Supervisor.holdSignalsUntilRunning()

let configuration: SupervisorConfiguration
do {
    let command = try SupervisorCommand.parse()
    configuration = try command.makeConfiguration()
} catch {
    let code = SupervisorCommand.exitCode(for: error)
    if code == .success {
        print(SupervisorCommand.fullMessage(for: error))
        exit(0)
    }
    fail(SupervisorCommand.fullMessage(for: error), code: 2)
}

do {
    exit(try Supervisor(configuration: configuration).run())
} catch let error as SupervisorError {
    // A bad setting found only when the database is opened (e.g. PGSSLMODE=bogus) is a usage error, as a bad flag.
    if case .invalidConfiguration = error { fail("\(error)", code: 2) }
    fail("\(error)", code: 1)
} catch {
    fail("\(error)", code: 1)
}
