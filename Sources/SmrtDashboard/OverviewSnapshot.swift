import Foundation
import SmrtJobs

/// The figures that would cost a scan of the jobs table per request (counts per queue and status, finished
/// jobs per minute), read together in the background with the supervisors and schedules, and served from
/// memory until the next refresh.
struct OverviewSnapshot: Sendable {
    /// When the refresh began, on the database's clock.
    var takenAt: Date
    /// When the refresh ended, on this host's clock (for "counts as of 3 s ago").
    var receivedAt: Date
    /// How long the refresh took.
    var duration: Duration
    var queues: [QueueInfo]
    /// The last hour, per minute.
    var perMinute: [MinuteTally]
    var workers: [WorkerRecord]
    var schedules: [AgentSchedule]

    /// The last hour's tallies ending at `takenAt`, one per minute, oldest first (minutes without jobs as 0).
    func lastHour() -> [MinuteTally] {
        let end = (takenAt.timeIntervalSince1970 / 60).rounded(.down) * 60
        var byMinute: [TimeInterval: MinuteTally] = [:]
        for tally in perMinute { byMinute[tally.minute.timeIntervalSince1970] = tally }
        return (0..<60).map { offset in
            let minute = end - Double(59 - offset) * 60
            return byMinute[minute] ?? MinuteTally(minute: Date(timeIntervalSince1970: minute), completed: 0, failed: 0)
        }
    }

    /// Supervisors whose lease holds at `takenAt`.
    var liveWorkers: [WorkerRecord] { workers.filter { Self.isAlive($0, at: takenAt) } }

    /// A lease holds until the expiry its owner wrote; a row without one for `defaultLeaseTTL` after its heartbeat
    /// (as `DeadOwnerRescuer` judges it with the supervisor's default TTL).
    static func isAlive(_ worker: WorkerRecord, at now: Date) -> Bool {
        (worker.expiresAt ?? worker.heartbeat.addingTimeInterval(defaultLeaseTTL)) >= now
    }

    static let defaultLeaseTTL: TimeInterval = 30

    /// Totals over every queue.
    var totals: JobStats {
        queues.reduce(into: JobStats()) { total, queue in
            total.pending += queue.counts.pending
            total.running += queue.counts.running
            total.completed += queue.counts.completed
            total.failed += queue.counts.failed
            total.cancelled += queue.counts.cancelled
        }
    }
}
