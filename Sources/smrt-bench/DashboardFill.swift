import Foundation
import SmrtJobs
import SmrtJobsPostgres
import SmrtJobsSQLite

/// The dashboard phase's queue: the busy hour of `smrt-bench reads` (`Reads.fill`: 1,000,000 jobs over 5 queues
/// and 20 types, per thousand ids 900 completed over the last hour, 50 pending, 1 running, 40 failed, 9
/// cancelled), so the pages' times compare with the store reads under them, plus what the other pages show: two
/// supervisors (by default) with fresh leases (expiring in an hour; the running jobs are the first one's) and a
/// snapshot each (4 workers, counters for every queue × type × outcome, the three histograms), and 20 cron
/// schedules.
enum DashboardFill {
    static let queues = (0..<5).map { "q\($0)" }
    static let types = (0..<20).map { "T\($0)" }
    /// Lease ids; the first is the owner `Reads.fill` writes on running jobs.
    static func leaseIds(_ count: Int) -> [String] { (1...max(1, count)).map { $0 == 1 ? "sup-bench" : "sup-bench-\($0)" } }

    /// How many jobs of each status a fill of `total` makes.
    struct Shape {
        var total: Int
        private func perThousand(_ range: ClosedRange<Int>) -> Int {
            (1...total).reduce(0) { $0 + (range.contains($1 % 1000) ? 1 : 0) }
        }
        var pending: Int { perThousand(0...49) }
        var running: Int { perThousand(50...50) }
        var failed: Int { perThousand(51...90) }
        var cancelled: Int { perThousand(91...99) }
        var completed: Int { total - pending - running - failed - cancelled }
    }

    static func fill(_ queue: BenchQueue, shape: Shape, supervisors: Int, now: Date) throws {
        switch queue.store {
        case let store as SQLiteJobStore:
            try Reads.fill(store, jobs: shape.total, now: now) { sql in try store.withConnection { try $0.exec(sql) } }
        case let store as PostgresJobStore:
            try Reads.fill(store, jobs: shape.total, now: now) { sql in _ = try store.withConnection { try $0.exec(sql) } }
            // As autovacuum would have done on a table that grew over an hour: statistics and the visibility map.
            _ = try store.withConnection { try $0.exec("VACUUM ANALYZE _smrt_jobs") }
        default:
            throw BenchError("dashboard: no fill for \(type(of: queue.store))")
        }
        guard let both = queue.store as? any JobStore & ScheduleStore else { throw BenchError("dashboard: the store has no schedules") }
        try addSupervisorsAndSchedules(both, supervisors: supervisors, now: now)
    }

    // MARK: Leases and schedules

    /// `supervisors` leases with their snapshots, and 20 schedules.
    static func addSupervisorsAndSchedules(_ store: any JobStore & ScheduleStore, supervisors: Int, now: Date) throws {
        for (index, id) in leaseIds(supervisors).enumerated() {
            var snapshot = SupervisorSnapshot(takenAt: now, configuredWorkers: 4)
            snapshot.workers = (0..<4).map { w in
                WorkerSnapshot(
                    pid: Int32(40_000 + index * 10 + w), state: "busy", rssBytes: UInt64(30 + w) << 20,
                    jobId: Int64(1_000 * (w + 1) + 50), jobLabel: "\(types[w]).run()",
                    jobStartedAt: now.addingTimeInterval(-Double(w)), jobsDone: 1_000 * (w + 1),
                    startedAt: now.addingTimeInterval(-3_600))
            }
            for queue in queues {
                for type in types {
                    for outcome in FinishOutcome.allCases {
                        let count = outcome == .completed ? 4_500 : outcome == .failed ? 200 : outcome == .retried ? 300 : 45
                        snapshot.finished.append(FinishedCount(queue: queue, type: type, outcome: outcome, count: count))
                    }
                }
            }
            snapshot.workerExits = ["exit": 3, "signal": 12, "timeout_kill": 7, "recycled": 40, "start_failed": 1]
            snapshot.jobsPruned = 12_000
            for k in 0..<10_000 {
                snapshot.jobDuration.record(0.003 * Double(k % 400))
                snapshot.queueWait.record(0.001 * Double(k % 700))
            }
            for k in 0..<7 { snapshot.killLateness.record(0.0005 * Double(k + 1)) }
            try store.registerWorker(WorkerRecord(
                id: id, pid: Int32(4_000 + index), host: "bench-host-\(index + 1)", startedAt: now.addingTimeInterval(-3_600),
                heartbeat: now, expiresAt: now.addingTimeInterval(3_600), stats: snapshot))
        }
        for k in 0..<20 {
            _ = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(
                    agentType: types[k], cron: k % 2 == 0 ? "*/\(k % 5 + 1) * * * *" : "\(k) \(k % 24) * * *",
                    methodArgs: ["scope": .string("nightly-\(k)")], timezone: k % 3 == 0 ? "Europe/Berlin" : "UTC"),
                in: store, now: now)
        }
    }
}
