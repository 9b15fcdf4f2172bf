import Foundation
import SmrtJobs
import Testing

/// Jobs, leases and schedules written straight into a store, as apps and supervisors would.
enum Seed {
    static let hostile = "<script>alert(1)</script>\"'"

    /// `count` pending jobs of `queue`; their ids, ascending.
    @discardableResult
    static func pending(_ store: any JobStore, _ count: Int, queue: String = "default", type: String = "Mailer") throws -> [Int64] {
        try store.enqueue(batch: (0..<count).map { i in JobSpec(objectType: type, method: "send", args: ["n": .int(Int64(i))], queue: queue) }, now: Date())
    }

    /// A job claimed by `worker` and ended as `outcome` (a failure without a retry fails for good).
    @discardableResult
    static func finished(_ store: any JobStore, _ spec: JobSpec, _ outcome: AttemptOutcome, worker: String = "seed-worker", now: Date = Date())
        throws -> SmrtJob
    {
        var spec = spec
        spec.priority = 100
        spec.maxAttempts = 1
        let job = try store.enqueue(spec, now: now)
        let claimed = try store.claim(workerId: worker, limit: 1, queues: [spec.queue], now: now)
        try #require(claimed.map(\.id) == [job.id], "the seeded job is claimed first")
        _ = try store.finish([AttemptReport(jobId: job.id, outcome: outcome, workerPid: 4242, workerExit: "exit code 3")], workerId: worker, now: now)
        return try #require(try store.get(id: job.id))
    }

    /// A failed-for-good job with `error`.
    @discardableResult
    static func failed(_ store: any JobStore, queue: String = "default", type: String = "Mailer", error: String = "boom", args: [String: JSONValue] = [:])
        throws -> SmrtJob
    {
        try finished(store, JobSpec(objectType: type, method: "send", args: args, queue: queue), .failed(error: error, retryAt: nil))
    }

    /// A lease row with a snapshot, alive for a minute.
    static func supervisor(_ store: any JobStore, id: String, stats: SupervisorSnapshot?, now: Date = Date(), alive: Bool = true) throws {
        try store.registerWorker(WorkerRecord(
            id: id, pid: 777, host: "host-\(id)", startedAt: now.addingTimeInterval(-600), heartbeat: now.addingTimeInterval(alive ? 0 : -120),
            expiresAt: now.addingTimeInterval(alive ? 60 : -90), stats: stats))
    }

    /// A snapshot with a busy worker on `jobId`, counters and histograms.
    static func snapshot(jobId: Int64?, durations: [Double], waits: [Double] = [0.2], lateness: [Double] = [], now: Date = Date()) -> SupervisorSnapshot {
        var duration = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds)
        for value in durations { duration.record(value) }
        var wait = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds)
        for value in waits { wait.record(value) }
        var late = HistogramSnapshot(bounds: HistogramSnapshot.latenessBounds)
        for value in lateness { late.record(value) }
        return SupervisorSnapshot(
            takenAt: now, configuredWorkers: 2, queues: nil,
            workers: [
                WorkerSnapshot(pid: 5001, state: jobId == nil ? "idle" : "busy", rssBytes: 12_582_912, jobId: jobId, jobLabel: "Mailer.send()",
                               jobStartedAt: now.addingTimeInterval(-3), jobsDone: 17, startedAt: now.addingTimeInterval(-500)),
                WorkerSnapshot(pid: 5002, state: "idle", rssBytes: nil, jobsDone: 4, startedAt: now.addingTimeInterval(-400)),
            ],
            finished: [
                FinishedCount(queue: "default", type: "Mailer", outcome: .completed, count: durations.count),
                FinishedCount(queue: "default", type: "Mailer", outcome: .failed, count: 1),
            ],
            workerExits: ["exit": 2, "timeout_kill": 1], jobsPruned: 9, jobDuration: duration, queueWait: wait, killLateness: late)
    }

    static func schedule(_ store: any ScheduleStore, cron: String = "*/5 * * * *", enabled: Bool = true) throws -> AgentSchedule {
        try ScheduleRunner.createSchedule(
            AgentScheduleSpec(agentType: "Reports", cron: cron, method: "build", methodArgs: ["password": "hunter2"], enabled: enabled),
            in: store)
    }
}
