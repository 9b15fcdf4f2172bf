import Foundation

/// What a supervisor publishes about itself in its lease row at each heartbeat (`WorkerRecord.stats`), so a
/// dashboard on any host sees every supervisor: its workers, and its counters and histograms since it started.
/// Never job args; job ids only of the jobs running now.
public struct SupervisorSnapshot: Sendable, Equatable, Codable {
    /// The layout version of this value; a reader skips snapshots of a newer version than it knows.
    public static let currentVersion = 1
    public var version: Int
    /// When the supervisor took it (its clock, corrected to the database's).
    public var takenAt: Date
    /// `--workers`, as TTIN/TTOU have changed it since.
    public var configuredWorkers: Int
    /// The queues it takes jobs from; nil: every queue.
    public var queues: [String]?
    public var workers: [WorkerSnapshot]
    /// Attempts finished, per queue, job type (`objectType`) and outcome.
    public var finished: [FinishedCount]
    /// Worker processes that ended, per `WorkerExitReason` raw value.
    public var workerExits: [String: Int]
    /// Jobs deleted by the retention policy (`--retain`).
    public var jobsPruned: Int
    /// Seconds from the start of an attempt to its result.
    public var jobDuration: HistogramSnapshot
    /// Seconds from when a job was due (`runAt`) to when its attempt started.
    public var queueWait: HistogramSnapshot
    /// Seconds a timeout kill came after the job's deadline.
    public var killLateness: HistogramSnapshot

    public init(
        takenAt: Date, configuredWorkers: Int, queues: [String]? = nil, workers: [WorkerSnapshot] = [],
        finished: [FinishedCount] = [], workerExits: [String: Int] = [:], jobsPruned: Int = 0,
        jobDuration: HistogramSnapshot = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds),
        queueWait: HistogramSnapshot = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds),
        killLateness: HistogramSnapshot = HistogramSnapshot(bounds: HistogramSnapshot.latenessBounds)
    ) {
        self.version = Self.currentVersion
        self.takenAt = takenAt
        self.configuredWorkers = configuredWorkers
        self.queues = queues
        self.workers = workers
        self.finished = finished
        self.workerExits = workerExits
        self.jobsPruned = jobsPruned
        self.jobDuration = jobDuration
        self.queueWait = queueWait
        self.killLateness = killLateness
    }
}

/// One worker process of a supervisor, as its snapshot saw it.
public struct WorkerSnapshot: Sendable, Equatable, Codable {
    public var pid: Int32
    /// starting, idle, busy or stopping.
    public var state: String
    /// Resident memory in bytes, when it could be read.
    public var rssBytes: UInt64?
    /// The job it runs now.
    public var jobId: Int64?
    /// `Type.method()` of that job.
    public var jobLabel: String?
    public var jobStartedAt: Date?
    /// Attempts this process has finished.
    public var jobsDone: Int
    public var startedAt: Date

    public init(
        pid: Int32, state: String, rssBytes: UInt64? = nil, jobId: Int64? = nil, jobLabel: String? = nil,
        jobStartedAt: Date? = nil, jobsDone: Int = 0, startedAt: Date
    ) {
        self.pid = pid
        self.state = state
        self.rssBytes = rssBytes
        self.jobId = jobId
        self.jobLabel = jobLabel
        self.jobStartedAt = jobStartedAt
        self.jobsDone = jobsDone
        self.startedAt = startedAt
    }
}

/// How an attempt ended, as the `outcome` label of `smrt_jobs_finished_total`.
public enum FinishOutcome: String, Sendable, Codable, CaseIterable {
    case completed, failed, retried, cancelled
}

/// Why a worker process ended, as the `reason` label of `smrt_worker_exits_total`.
public enum WorkerExitReason: String, Sendable, Codable, CaseIterable {
    /// It exited by itself (any exit code).
    case exit
    /// A signal ended it that the supervisor did not send for a timeout.
    case signal
    /// The supervisor killed it at a job's deadline.
    case timeoutKill = "timeout_kill"
    /// Retired by the supervisor (`--max-jobs-per-worker`, memory limit, shutdown).
    case recycled
    /// Retired by itself: it said RETIRE (protocol 3) and exited 0, or exited 0 between jobs (end of work).
    case retired
    /// It never said HELLO (could not start, or too late).
    case startFailed = "start_failed"
}

/// A count of finished attempts for one (queue, type, outcome).
public struct FinishedCount: Sendable, Equatable, Codable {
    public var queue: String
    public var type: String
    public var outcome: FinishOutcome
    public var count: Int
    public init(queue: String, type: String, outcome: FinishOutcome, count: Int) {
        self.queue = queue
        self.type = type
        self.outcome = outcome
        self.count = count
    }
}

/// A histogram with fixed upper bounds (seconds), as Prometheus keeps one: `counts[i]` observations were
/// `<= bounds[i]` and above the bound before (not cumulative); the last entry counts those above every bound.
public struct HistogramSnapshot: Sendable, Equatable, Codable {
    public var bounds: [Double]
    public var counts: [Int]
    public var sum: Double

    /// Job durations and queue waits: 5 ms … 1 h.
    public static let durationBounds: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
    ]
    /// Kill lateness: 1 ms … 1 s.
    public static let latenessBounds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    public init(bounds: [Double]) {
        self.bounds = bounds
        self.counts = Array(repeating: 0, count: bounds.count + 1)
        self.sum = 0
    }

    public var count: Int { counts.reduce(0, +) }

    public mutating func record(_ value: Double) {
        let index = bounds.firstIndex { value <= $0 } ?? bounds.count
        counts[index] += 1
        sum += value
    }
}
