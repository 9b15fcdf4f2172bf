extension WorkerProcess {
    /// Why the supervisor killed a worker that held a job, for how the attempt ended (`SmrtJob.workerExit`) and
    /// for the `smrt_worker_exits_total` reason.
    enum KillCause: Equatable {
        /// `kill` timeout: SIGKILL at the job's deadline.
        case timeout(ms: Int)
        /// `fail` timeout: CANCEL at the deadline, SIGKILL when the worker had not answered after the grace.
        case timeoutAfterCancel(ms: Int, graceMs: Int)
        /// The supervisor could not renew its lease in time.
        case leaseLost
        /// The job was cancelled while it ran.
        case jobCancelled
        case protocolError
        /// It closed fd 3 but did not exit.
        case channelClosed
        /// Protocol 4: it did not say STARTED for its next job within the job's timeout.
        case notStarted(ms: Int)

        /// Killed for its job's timeout (`timeout_kill`).
        var isTimeout: Bool {
            switch self {
            case .timeout, .timeoutAfterCancel: true
            default: false
            }
        }

        /// How the attempt ended, for people.
        var attemptEnd: String {
            switch self {
            case .timeout(let ms): "killed at its \(ms) ms timeout"
            case .timeoutAfterCancel(let ms, let graceMs): "killed \(graceMs) ms after CANCEL at its \(ms) ms timeout"
            case .leaseLost: "killed: the supervisor's lease was lost"
            case .jobCancelled: "killed: the job was cancelled"
            case .protocolError: "killed for a protocol error"
            case .channelClosed: "killed: it closed its protocol channel"
            case .notStarted(let ms): "killed: it did not start the job within its \(ms) ms timeout"
            }
        }
    }
}
