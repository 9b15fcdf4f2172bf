import SmrtProtocol

/// How many RUNs may be queued behind a worker's running job (`--pipeline`): a value type without processes,
/// unit-tested (`PipelinePolicyTests`).
///
/// A worker of protocol 4 queues the RUNs it gets while it runs a job and starts each as soon as the one before has
/// answered, saying STARTED; the supervisor counts each job's deadline from its STARTED. So a short job's next job is
/// already in the worker when its result goes out, and neither the round trip nor the worker's wake-up stands
/// between two jobs. RUNs are queued only:
/// - to a worker of protocol 4 (earlier ones take one RUN at a time);
/// - while jobs are short (`ClaimPlanner.jobsAreShort`: the last attempt took less than `shortJobMs`, 50 ms by
///   default), so a long job never has another waiting behind it on its worker while other workers could run it;
/// - up to `depth` RUNs in flight (sent, not answered) to one worker, and no more queued than fill `queueAheadMs` at
///   the jobs' recent length (at least one): enough to cover the supervisor's round trip for jobs of microseconds,
///   one for jobs of milliseconds, so a job that turns out long has few waiting behind it;
/// - never past `--max-jobs-per-worker`;
/// - not behind a job that is being stopped (a timeout's CANCEL or kill, a cancel): its worker may be about to die.
///
/// Queued jobs come from the jobs held ahead (`--prefetch`): no claim is made for a queue slot, so `--prefetch 0`
/// queues nothing.
struct PipelinePolicy: Equatable {
    /// RUNs in flight to one worker of protocol 4 at most (1: one at a time, as for earlier versions).
    let depth: Int

    /// The work queued behind a running job at most, at the jobs' recent length (at least one job is queued).
    static let queueAheadMs = 2.0

    init(depth: Int = SupervisorConfiguration.defaultPipeline) {
        self.depth = max(1, depth)
    }

    /// How many more RUNs may be queued behind the running job of a worker of `protocolVersion` that has `inFlight`
    /// RUNs unanswered (0: it is idle, and offered a job as such), `jobsLeft` more jobs before it is recycled (nil:
    /// no limit, counting the answered ones only), and whose first job is being stopped (`headStopping`), while
    /// short jobs take `recentJobMs` (nil: not known, up to `depth`).
    func queueSlots(
        protocolVersion: UInt16, inFlight: Int, jobsAreShort: Bool, recentJobMs: Double? = nil, jobsLeft: Int? = nil,
        headStopping: Bool = false
    ) -> Int {
        guard inFlight >= 1, protocolVersion >= WireFormat.pipelineVersion, jobsAreShort, !headStopping else { return 0 }
        let queued = recentJobMs.map { ClaimPlanner.jobs(lasting: $0, toFill: Self.queueAheadMs, atMost: depth - 1) } ?? depth - 1
        let allowed = min(1 + queued, jobsLeft ?? depth)
        return max(0, allowed - inFlight)
    }
}
