import Foundation
import SmrtJobs

/// Queues as objects: pause/resume and a global concurrency limit, enforced by the claim.
extension MemoryJobStore: QueueStore {
    public func setQueue(name: String, paused: Bool?, concurrency: QueueConcurrency?, now: Date) throws {
        try Self.validateQueueSetting(name: name, concurrency: concurrency)
        let now = Self.stored(now)
        try database.write { tables in
            var row = tables.queues[name] ?? QueueInfo(name: name)
            if let paused { row.paused = paused }
            if let concurrency { row.concurrency = concurrency.value }
            row.updatedAt = now
            tables.setQueue(row)
        }
    }

    public func listQueues(now: Date) throws -> [QueueInfo] {
        let now = Self.stored(now)
        return try database.read { tables in
            var counts: [String: [JobStatus: Int]] = [:]
            var oldest: [String: Date] = [:]
            for job in tables.jobs.values {
                counts[job.queue, default: [:]][job.status, default: 0] += 1
                if job.status == .pending, job.runAt <= now, oldest[job.queue].map({ job.runAt < $0 }) ?? true {
                    oldest[job.queue] = job.runAt
                }
            }
            let flat = counts.flatMap { queue, byStatus in byStatus.map { (queue: queue, status: $0.key, count: $0.value) } }
            let rows = tables.queues.values.map { row in
                QueueInfo(name: row.name, paused: row.paused, concurrency: row.concurrency, updatedAt: row.updatedAt)
            }
            return QueueInfo.merge(counts: flat, oldestReady: oldest, rows: rows)
        }
    }

    /// What the claim may take, or nil when no queue is paused or limited (the common case).
    static func queuePlan(_ tables: MemoryTables) -> QueueClaimPlan? {
        let controls = tables.queues.values.filter { $0.paused || $0.concurrency != nil }
            .map { QueueControl(name: $0.name, paused: $0.paused, concurrency: $0.concurrency) }
        if controls.isEmpty { return nil }
        let limited = Set(controls.filter { !$0.paused && $0.concurrency != nil }.map(\.name))
        var running: [String: Int] = [:]
        if !limited.isEmpty {
            for id in tables.running {
                if let queue = tables.jobs[id]?.queue, limited.contains(queue) { running[queue, default: 0] += 1 }
            }
        }
        return QueueClaimPlan(controls: controls, running: running)
    }
}
