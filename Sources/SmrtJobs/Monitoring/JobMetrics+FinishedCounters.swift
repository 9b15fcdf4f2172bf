import CoreMetrics

extension JobMetrics {
    /// `smrt_jobs_finished_total{queue, type, outcome}` of one (queue, type), one counter per outcome.
    public final class FinishedCounters: Sendable {
        public let queue: String
        public let type: String
        private let completed: Counter
        private let failed: Counter
        private let retried: Counter
        private let cancelled: Counter

        init(queue: String, type: String, factory: any MetricsFactory) {
            self.queue = queue
            self.type = type
            func counter(_ outcome: FinishOutcome) -> Counter {
                Counter(
                    label: JobMetrics.finishedLabel,
                    dimensions: [("queue", queue), ("type", type), ("outcome", outcome.rawValue)], factory: factory)
            }
            completed = counter(.completed)
            failed = counter(.failed)
            retried = counter(.retried)
            cancelled = counter(.cancelled)
        }

        public func increment(_ outcome: FinishOutcome) {
            switch outcome {
            case .completed: completed.increment()
            case .failed: failed.increment()
            case .retried: retried.increment()
            case .cancelled: cancelled.increment()
            }
        }
    }
}
