import Foundation
import SmrtBackends
import SmrtJobs

/// Everything a `Supervisor` needs to know. Durations are milliseconds.
public struct SupervisorConfiguration: Sendable, Equatable {
    /// How the supervisor writes its log lines (one per event, on stderr).
    public enum LogFormat: String, Sendable, CaseIterable {
        /// `2026-11-29T07:00:00.123Z info job 42 Demo.noop completed worker_pid=1234 duration_ms=3`
        case text
        /// One JSON object per line: `{"ts":...,"level":...,"msg":...,"event":...,"job_id":42,...}`.
        case json
    }

    /// The database, as `--db` takes it: a SQLite file path (see `Backends.open`).
    public var database: String
    /// The worker command: executable and arguments (already split; see `ShellWords`).
    public var workerExec: [String]
    /// Environment variables for workers (`--worker-env KEY=VALUE`), on top of the supervisor's own environment,
    /// or of the minimal one with `clearWorkerEnvironment`. See `workerEnvironment(supervisorEnvironment:)`.
    public var environment: [String: String]
    /// Variables workers get from the supervisor's environment by name (`--worker-env KEY`), also with
    /// `clearWorkerEnvironment`; a name the supervisor does not have is left out.
    public var passedEnvironment: [String] = []
    /// Start workers from an empty environment (`--worker-clear-env`): only `PATH` (the supervisor's, else
    /// `defaultWorkerPath`), `passedEnvironment` and `environment`. Off by default: workers then inherit the
    /// supervisor's whole environment, secrets such as `AWS_SECRET_ACCESS_KEY` included.
    public var clearWorkerEnvironment = false
    /// How many worker processes to keep running.
    public var workers: Int
    /// Queues to claim from; nil claims from every queue.
    public var queues: [String]?
    /// Fallback poll for ready jobs. New jobs from other processes normally wake the supervisor at once (the
    /// backend's change signal); the poll also picks up delayed jobs as they come due.
    public var pollInterval: Int
    /// How often the lease row and the running jobs are touched. Capped at a third of `leaseTTL`.
    public var heartbeatInterval: Int
    /// How long a lease lives without a heartbeat before any supervisor takes its jobs back.
    public var leaseTTL: Int
    /// How long TERM/INT wait for running jobs before killing their workers and releasing the jobs.
    public var shutdownTimeout: Int
    /// How long a new worker has to send HELLO before it is killed.
    public var workerStartTimeout: Int
    /// For `timeoutBehavior: fail`: how long after CANCEL a worker may take before it is killed.
    public var cancelGrace: Int
    /// Replace a worker after this many jobs (nil: never).
    public var maxJobsPerWorker: Int?
    /// Replace a worker whose resident memory exceeds this many MiB, checked between jobs (nil: never).
    public var maxWorkerRSSMB: Int?
    public var logFormat: LogFormat
    /// Also log job args (redacted) and other detail.
    public var debug: Bool
    /// How the backend opens the database (busy timeout, mode of a file it creates).
    public var backendOptions: BackendOptions
    /// Address-space limit of each worker (RLIMIT_AS), in MiB (nil: none). See docs/operations.md.
    public var workerMemoryLimitMB: Int?
    /// CPU-time limit of each worker process (RLIMIT_CPU), in seconds over its whole life (nil: none).
    public var workerCPULimitSeconds: Int?
    /// Run the workers as this user (and its primary group); needs the supervisor to run as root.
    public var workerUser: String?
    /// How often the backend's health check runs (ms): e.g. a SQLite file removed or replaced.
    public var healthCheckInterval: Int
    /// Jobs per worker claimed ahead and held by the supervisor at most, so a worker that finishes gets its next job
    /// at once instead of waiting for the database (0: claim only for idle workers). Fewer are held for jobs that
    /// take longer (`ClaimPlanner.holdAheadMs` of work per worker). See docs/supervisor.md.
    public var prefetch: Int = SupervisorConfiguration.defaultPrefetch
    /// Added to the workers' nice value, so that the supervisor's loop gets a core first when busy workers take
    /// them all: a kill deadline is then met within milliseconds (0: workers run at the supervisor's priority).
    public var workerNice: Int = SupervisorConfiguration.defaultWorkerNice
    /// The default of `workerNice`, chosen by measurement (docs/performance.md).
    public static let defaultWorkerNice = 5
    /// The default of `prefetch`, chosen by measurement (docs/performance.md).
    public static let defaultPrefetch = 64
    /// RUNs in flight to one worker of protocol 4 while jobs are short (`--pipeline`): the running job and the ones
    /// queued behind it, taken from the held jobs (1: one at a time, as for workers of earlier versions). Each job's
    /// deadline counts from the worker's STARTED for it. See docs/supervisor.md, *Pipelining*.
    public var pipeline: Int = SupervisorConfiguration.defaultPipeline
    /// The default of `pipeline`: one job running and up to 7 queued behind it, as many as take 2 ms
    /// (`PipelinePolicy.queueAheadMs`; one for jobs of 2 ms or more).
    public static let defaultPipeline = 8
    /// The largest `pipeline` accepted.
    public static let maxPipeline = 64
    /// An attempt that took less than this many ms is short: while jobs are short, the supervisor claims ahead
    /// (`prefetch`) and queues RUNs behind running jobs (`pipeline`). 0: no job is short. Tests raise it
    /// (`--short-job-threshold`, hidden) so that a loaded machine cannot make their quick jobs "long".
    public var shortJobMs: Double = SupervisorConfiguration.defaultShortJobMs
    /// The default of `shortJobMs`: claiming ahead only pays for short jobs; for longer ones the database round
    /// trip is noise, and jobs held or queued behind them would wait long.
    public static let defaultShortJobMs = 50.0
    /// The largest `shortJobMs` accepted (an hour).
    public static let maxShortJobMs = 3_600_000.0
    /// Group commit window: how long a finished attempt (or a claim ahead) may wait for others to share its
    /// transaction, while no worker waits for that commit. Bounds how long a result takes to be durable.
    public var commitWindowMs: Double = SupervisorConfiguration.defaultCommitWindowMs
    /// Whether the queue's tables may be added to a database that holds other tables but none of ours
    /// (`--init`). Off by default: a mistyped `--db` that names another application's SQLite file is refused
    /// instead of being turned into a queue. A missing or empty database is created either way.
    public var addsToForeignDatabase = false
    public static let defaultCommitWindowMs = 1.0
    /// How long finished jobs are kept (`--retain`); the supervisor prunes older ones in small batches.
    public var retention: RetentionPolicy = .standard
    /// How often the supervisor prunes finished jobs past `retention` (ms).
    public var retentionInterval = 60_000

    public init(
        database: String, workerExec: [String], environment: [String: String] = [:], workers: Int = 2,
        queues: [String]? = nil, pollInterval: Int = 1000, heartbeatInterval: Int = 5000, leaseTTL: Int = 30_000,
        shutdownTimeout: Int = 30_000, workerStartTimeout: Int = 10_000, cancelGrace: Int = 2000,
        maxJobsPerWorker: Int? = nil, maxWorkerRSSMB: Int? = nil, logFormat: LogFormat = .text, debug: Bool = false,
        backendOptions: BackendOptions = .init(), workerMemoryLimitMB: Int? = nil, workerCPULimitSeconds: Int? = nil,
        workerUser: String? = nil, healthCheckInterval: Int = 1000
    ) {
        self.database = database
        self.workerExec = workerExec
        self.environment = environment
        self.workers = workers
        self.queues = queues
        self.pollInterval = pollInterval
        self.heartbeatInterval = heartbeatInterval
        self.leaseTTL = leaseTTL
        self.shutdownTimeout = shutdownTimeout
        self.workerStartTimeout = workerStartTimeout
        self.cancelGrace = cancelGrace
        self.maxJobsPerWorker = maxJobsPerWorker
        self.maxWorkerRSSMB = maxWorkerRSSMB
        self.logFormat = logFormat
        self.debug = debug
        self.backendOptions = backendOptions
        self.workerMemoryLimitMB = workerMemoryLimitMB
        self.workerCPULimitSeconds = workerCPULimitSeconds
        self.workerUser = workerUser
        self.healthCheckInterval = healthCheckInterval
    }

    /// Checks the values; throws `SupervisorError.invalidConfiguration` naming the option at fault.
    public func validate() throws {
        func fail(_ option: String, _ reason: String) -> SupervisorError {
            .invalidConfiguration(option: option, reason: reason)
        }
        if database.isEmpty { throw fail("--db", "must not be empty") }
        if workerExec.first?.isEmpty ?? true { throw fail("--worker-exec", "must name a program") }
        if workers < 0 { throw fail("--workers", "must be 0 or more") }
        if let queues, queues.isEmpty || queues.contains(where: \.isEmpty) {
            throw fail("--queues", "must list queue names separated by commas")
        }
        for (option, value) in [
            ("--poll-interval", pollInterval), ("--heartbeat-interval", heartbeatInterval), ("--lease-ttl", leaseTTL),
            ("worker start timeout", workerStartTimeout), ("cancel grace", cancelGrace),
            ("--retain-interval", retentionInterval),
        ] where value <= 0 {
            throw fail(option, "must be a positive number of milliseconds")
        }
        if shutdownTimeout < 0 { throw fail("--shutdown-timeout", "must be 0 or more milliseconds") }
        if let maxJobsPerWorker, maxJobsPerWorker < 1 { throw fail("--max-jobs-per-worker", "must be at least 1") }
        if let maxWorkerRSSMB, maxWorkerRSSMB < 1 { throw fail("--max-worker-rss", "must be at least 1 MB") }
        try validateSafetyLimits()
        try validateWorkerEnvironment()
        if prefetch < 0 || prefetch > 1000 { throw fail("--prefetch", "must be between 0 and 1000") }
        if pipeline < 1 || pipeline > Self.maxPipeline {
            throw fail(
                "--pipeline",
                "must be between 1 and \(Self.maxPipeline) (RUNs in flight to one worker; 1: one at a time), not \(pipeline)")
        }
        if workerNice < 0 || workerNice > 19 { throw fail("--worker-nice", "must be between 0 and 19") }
        if !(commitWindowMs >= 0 && commitWindowMs <= 1000) { throw fail("--commit-window", "must be 0 to 1000 ms") }
        if !(shortJobMs >= 0 && shortJobMs <= Self.maxShortJobMs) {
            throw fail("--short-job-threshold", "must be 0 to \(Int(Self.maxShortJobMs)) ms, not \(shortJobMs)")
        }
    }

    /// The heartbeat period actually used: never so slow that our own lease could expire between beats.
    var effectiveHeartbeatInterval: Int { max(10, min(heartbeatInterval, leaseTTL / 3)) }
}
