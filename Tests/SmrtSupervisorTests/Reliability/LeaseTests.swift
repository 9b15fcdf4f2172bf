import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Leases that cannot be misjudged: each carries its own expiry; a supervisor that cannot hold its lease
    /// (frozen, or unable to renew) has its jobs stopped before anyone else may take them; a running job without
    /// a lease row is taken back at once. Every test checks the ledger of `Demo.exclusive`: an execution that
    /// finds another execution of the same job running writes `overlap`, so "no job ran in two places at once"
    /// is a line count.
    @Suite struct Leases {
        /// The ledger of `Demo.exclusive` jobs: starts and ends per job, and overlaps.
        struct Ledger {
            var starts: [String: Int] = [:]
            var ends: [String: Int] = [:]
            var overlaps: [String] = []

            init(_ path: String) throws {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") {
                    let parts = line.split(separator: " ")
                    try #require(parts.count == 5, "malformed ledger line '\(line)'")
                    let job = String(parts[1])
                    switch parts[0] {
                    case "start": starts[job, default: 0] += 1
                    case "end": ends[job, default: 0] += 1
                    case "overlap": overlaps.append(job)
                    default: Issue.record("malformed ledger line '\(line)'")
                    }
                }
            }
        }

        static func exclusiveJobs(_ count: Int, ms: Int, ledger: String, db: TestDatabase, maxAttempts: Int = 5) throws -> [Int64] {
            let specs = (0..<count).map { i in
                JobSpec(
                    objectType: "Demo", method: "exclusive",
                    args: ["ledger": .string(ledger), "line": .string(String(i)), "ms": .int(Int64(ms))],
                    maxAttempts: maxAttempts, retryStrategy: .linear(delay: 0))
            }
            return try db.store.enqueue(batch: specs, now: Date())
        }

        static func waitAllCompleted(_ ids: [Int64], db: TestDatabase, timeout: Double) throws {
            _ = try eventually("\(ids.count) jobs completed", timeout: timeout, context: {
                "stats: \((try? db.store.stats(queue: nil)).map { "\($0)" } ?? "?")"
            }) { () -> Bool? in
                try db.store.stats(queue: nil).completed == ids.count ? true : nil
            }
        }

        /// Two healthy supervisors with different TTLs (the default 30 s and 2 s) never judge each other dead:
        /// before leases carried their expiry, the short-TTL one took the other's jobs back at every heartbeat.
        @Test func supervisorsWithDifferentTTLsLeaveEachOthersLeasesAlone() throws {
            let db = try TestDatabase()
            let ledger = db.file("ledger.txt")
            // 6 s of work: well past the 2 s TTL, while the long-TTL supervisor renews only every 5 s.
            let ids = try Self.exclusiveJobs(40, ms: 300, ledger: ledger, db: db)
            let long = try SupervisorProcess(database: db, workers: 1, logName: "long.log")
            let short = try SupervisorProcess(
                database: db, workers: 1, arguments: ["--lease-ttl", "2000"], logName: "short.log")
            try Self.waitAllCompleted(ids, db: db, timeout: 60)
            let result = try Ledger(ledger)
            #expect(result.overlaps.isEmpty)
            #expect(result.starts.count == 40 && result.starts.values.allSatisfy { $0 == 1 }, "a job ran twice")
            #expect(long.events("lease_recovered").isEmpty && short.events("lease_recovered").isEmpty)
            #expect(try db.store.list(JobQuery(status: .completed, limit: 40)).allSatisfy { $0.attempts == 1 })
            for supervisor in [long, short] {
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// A supervisor stopped (SIGSTOP) for longer than its TTL while its workers run long jobs: its workers stop
        /// themselves (no KEEPALIVE within the watchdog window) before another supervisor takes the jobs over, so
        /// no job runs in two places at once; woken up (SIGCONT), it fences itself (`lease_lost`) before anything
        /// else, and takes jobs again once it has renewed its lease.
        @Test func aFrozenSupervisorsJobsNeverRunTwiceAtOnce() throws {
            let db = try TestDatabase()
            let ledger = db.file("ledger.txt")
            let ttl = ["--lease-ttl", "3000"]
            let ids = try Self.exclusiveJobs(4, ms: 6000, ledger: ledger, db: db)
            let frozen = try SupervisorProcess(database: db, workers: 4, arguments: ttl, logName: "frozen.log")
            _ = try eventually("4 jobs started", timeout: 20) { () -> Bool? in
                try Ledger(ledger).starts.count == 4 ? true : nil
            }
            let workers = frozen.liveWorkerPids()
            frozen.signal(SIGSTOP)
            defer { frozen.signal(SIGCONT) }
            let taker = try SupervisorProcess(database: db, workers: 4, arguments: ttl, logName: "taker.log")
            // The frozen supervisor's workers are gone within the watchdog window (1 s for a 3 s TTL).
            _ = try eventually("the frozen supervisor's workers to stop themselves", timeout: 5) { () -> Bool? in
                workers.allSatisfy { !processIsAlive($0) } ? true : nil
            }
            _ = try taker.waitFor("lease_recovered", timeout: 20)
            frozen.signal(SIGCONT)
            _ = try frozen.waitFor("lease_lost", timeout: 10)
            try Self.waitAllCompleted(ids, db: db, timeout: 60)
            let result = try Ledger(ledger)
            #expect(result.overlaps.isEmpty, "executions overlapped: jobs \(result.overlaps)")
            #expect(result.ends.count == 4 && result.ends.values.allSatisfy { $0 == 1 })
            #expect(frozen.logText.contains("no KEEPALIVE from the supervisor"))
            // Back with a renewed lease, the woken supervisor takes jobs again.
            _ = try frozen.waitFor("lease_regained", timeout: 10)
            let after = try Self.exclusiveJobs(8, ms: 10, ledger: db.file("after.txt"), db: db)
            try Self.waitAllCompleted(ids + after, db: db, timeout: 30)
            for supervisor in [frozen, taker] {
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit(timeout: 20) == .exited(0))
            }
        }

        /// A running job whose owner has no lease row (its supervisor exited on a full disk before removing or
        /// renewing anything, or the row was deleted) is taken back as soon as a supervisor starts, not after a TTL.
        @Test func aRunningJobWithoutALeaseRowIsRecoveredAtOnce() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("noop", maxAttempts: 3)
            #expect(try db.store.claim(workerId: "gone-host:4242:dead", limit: 1, queues: nil, now: Date()).map(\.id) == [id])
            let started = Date()
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let recovered = try supervisor.waitFor("lease_recovered", timeout: 10)
            #expect(recovered["lease_id"] as? String == "gone-host:4242:dead")
            try db.waitFor(id, .completed, timeout: 10, log: supervisor)
            #expect(Date().timeIntervalSince(started) < 10, "well within the 30 s TTL")
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }
    }
}
