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
/// - up to `depth` RUNs in flight (sent, not answered) to one worker, and never past `--max-jobs-per-worker`;
/// - not behind a job that is being stopped (a timeout's CANCEL or kill, a cancel): its worker may be about to die.
///
/// Queued jobs come from the jobs held ahead (`--prefetch`): no claim is made for a queue slot, so `--prefetch 0`
/// queues nothing.
struct PipelinePolicy: Equatable {
    /// RUNs in flight to one worker of protocol 4 at most (1: one at a time, as for earlier versions).
    let depth: Int

    init(depth: Int = SupervisorConfiguration.defaultPipeline) {
        self.depth = max(1, depth)
    }

    /// How many more RUNs may be queued behind the running job of a worker of `protocolVersion` that has `inFlight`
    /// RUNs unanswered (0: it is idle, and offered a job as such), `jobsLeft` more jobs before it is recycled (nil:
    /// no limit, counting the answered ones only), and whose first job is being stopped (`headStopping`).
    func queueSlots(
        protocolVersion: UInt16, inFlight: Int, jobsAreShort: Bool, jobsLeft: Int? = nil, headStopping: Bool = false
    ) -> Int {
        guard inFlight >= 1, protocolVersion >= WireFormat.pipelineVersion, jobsAreShort, !headStopping else { return 0 }
        let allowed = min(depth, jobsLeft ?? depth)
        return max(0, allowed - inFlight)
    }
}
