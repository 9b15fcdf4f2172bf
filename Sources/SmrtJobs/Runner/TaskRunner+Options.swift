import CoreMetrics
import Foundation

extension TaskRunner {
    /// How a `TaskRunner` claims, runs and leases jobs. Defaults are the original's.
    public struct Options: Sendable {
        /// How many jobs run at once. Default 5.
        public var concurrency: Int
        /// The queues to claim from; nil claims from every queue. Default `["default"]`.
        public var queues: [String]?
        /// How often to look for ready jobs when nothing wakes the runner earlier. Default 1 s.
        public var pollInterval: Duration
        /// How often the lease row and the running jobs' heartbeats are touched, and dead owners looked
        /// for. Default 30 s.
        public var heartbeatInterval: Duration
        /// How long `stop()` waits for running jobs before cancelling and releasing them. Default 30 s.
        public var shutdownTimeout: Duration
        /// How long an owner may go without a heartbeat before its running jobs are taken back and retried
        /// (the original's stale threshold). Must exceed `heartbeatInterval`. Default 90 s.
        public var leaseTTL: Duration
        /// Written into `worker_id` of claimed jobs and used as the lease row's id. Unique per runner.
        public var workerId: String
        /// When set, the runner also fires due schedules (every `schedulePollInterval`) and claims queue
        /// `agents` (added to `queues` if missing). The store counts each fired job on its schedule when the job
        /// ends for good.
        public var scheduleRunner: ScheduleRunner?
        /// How often due schedules are fired when `scheduleRunner` is set. Default 5 s.
        public var schedulePollInterval: Duration
        /// How many undelivered events each `events` stream keeps; older ones are dropped. Default 1024.
        public var eventBufferSize: Int
        /// Where the runner's job metrics go (`JobMetrics`: `smrt_jobs_finished_total{queue,type,outcome}`,
        /// `smrt_job_duration_seconds`, `smrt_job_queue_wait_seconds`). Default: the app's bootstrapped backend
        /// (`MetricsSystem.factory`, a no-op until one is bootstrapped).
        public var metricsFactory: any MetricsFactory

        public init(
            concurrency: Int = 5, queues: [String]? = ["default"], pollInterval: Duration = .milliseconds(1000),
            heartbeatInterval: Duration = .milliseconds(30_000), shutdownTimeout: Duration = .milliseconds(30_000),
            leaseTTL: Duration = .milliseconds(90_000), workerId: String = TaskRunner.makeWorkerId(),
            scheduleRunner: ScheduleRunner? = nil, schedulePollInterval: Duration = .seconds(5),
            eventBufferSize: Int = 1024, metricsFactory: any MetricsFactory = MetricsSystem.factory
        ) {
            self.concurrency = concurrency
            self.queues = queues
            self.pollInterval = pollInterval
            self.heartbeatInterval = heartbeatInterval
            self.shutdownTimeout = shutdownTimeout
            self.leaseTTL = leaseTTL
            self.workerId = workerId
            self.scheduleRunner = scheduleRunner
            self.schedulePollInterval = schedulePollInterval
            self.eventBufferSize = eventBufferSize
            self.metricsFactory = metricsFactory
        }

        /// The queues actually claimed: `queues`, plus `agents` when schedules are wired.
        public var claimedQueues: [String]? {
            guard var queues else { return nil }
            if scheduleRunner != nil, !queues.contains(ScheduleRunner.queue) { queues.append(ScheduleRunner.queue) }
            return queues
        }

        /// Throws `SmrtJobsError.invalidValue` naming the first option that cannot work.
        public func validate() throws {
            func invalid(_ field: String, _ value: Any, _ reason: String) -> SmrtJobsError {
                .invalidValue(field: field, value: "\(value)", reason: reason)
            }
            if concurrency < 1 { throw invalid("concurrency", concurrency, "must be at least 1") }
            if let queues {
                if queues.isEmpty { throw invalid("queues", queues, "must name at least one queue (nil means every queue)") }
                if queues.contains(where: { $0.isEmpty }) { throw invalid("queues", queues, "queue names must not be empty") }
            }
            if workerId.isEmpty { throw invalid("workerId", workerId, "must not be empty") }
            for (field, value) in [
                ("pollInterval", pollInterval), ("heartbeatInterval", heartbeatInterval), ("leaseTTL", leaseTTL),
                ("schedulePollInterval", schedulePollInterval),
            ] where value <= .zero {
                throw invalid(field, value, "must be positive")
            }
            if shutdownTimeout < .zero { throw invalid("shutdownTimeout", shutdownTimeout, "must not be negative") }
            if leaseTTL <= heartbeatInterval {
                throw invalid("leaseTTL", leaseTTL, "must exceed heartbeatInterval (\(heartbeatInterval)), or live jobs look dead")
            }
            if eventBufferSize < 1 { throw invalid("eventBufferSize", eventBufferSize, "must be at least 1") }
        }
    }

    /// `runner:<host>:<pid>:<8 hex digits>`.
    public static func makeWorkerId() -> String {
        let hex = String(UInt32.random(in: .min ... .max), radix: 16)
        return "runner:\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(repeating: "0", count: 8 - hex.count))\(hex)"
    }
}

extension Duration {
    /// As a `TimeInterval` (seconds), for date arithmetic.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
