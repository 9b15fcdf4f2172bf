import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Queues as objects with real supervisors: pause/resume and a global concurrency limit, on SQLite and PostgreSQL.
/// The same scenarios run on both backends (`QueueControlScenarios`).
extension IntegrationTests {
    @Suite struct QueueControlSQLite {
        @Test func pauseStopsClaimsOfTheQueueAndResumeStartsThemWithinASecond() throws {
            let db = try TestDatabase()
            try QueueControlScenarios.pauseAndResume(db, peer: { try SQLiteJobStore(path: db.path) })
        }

        @Test func concurrencyLimitOfTwoHoldsAcrossThreeSupervisors() throws {
            let db = try TestDatabase()
            try QueueControlScenarios.concurrencyLimit(db, peer: { try SQLiteJobStore(path: db.path) })
        }
    }

    @Suite(.enabled(if: PostgresTestServer.testsEnabled, "no PostgreSQL server: set SMRT_TEST_POSTGRES_URL or run scripts/test.sh"))
    struct QueueControlPostgreSQL {
        @Test func pauseStopsClaimsOfTheQueueAndResumeStartsThemWithinASecond() throws {
            let db = try PostgresTestDatabase()
            try QueueControlScenarios.pauseAndResume(db, peer: { try db.openStore() })
        }

        @Test func concurrencyLimitOfTwoHoldsAcrossThreeSupervisors() throws {
            let db = try PostgresTestDatabase()
            try QueueControlScenarios.concurrencyLimit(db, peer: { try db.openStore() })
        }
    }
}

enum QueueControlScenarios {
    static func queueStore(_ store: any JobStore) throws -> any QueueStore {
        try #require(store as? any QueueStore)
    }

    static func enqueue(_ db: some QueueTestDatabase, queue: String, ms: Int, count: Int) throws -> [Int64] {
        try db.queueStore.enqueue(
            batch: (0..<count).map { _ in
                JobSpec(objectType: "Demo", method: "sleep", args: ["ms": .int(Int64(ms))], queue: queue, maxAttempts: 1)
            }, now: Date())
    }

    static func startedAt(_ event: SupervisorProcess.Event) -> Date? { Timestamp.parse(event["ts"] as? String ?? "") }

    /// A running job of Q finishes after Q is paused; no other job of Q is claimed while it is paused (the database's
    /// rows and the supervisor's `job_started` lines), other queues flow; a resume with the poll at 60 s starts Q's
    /// jobs within a second (the change signal).
    static func pauseAndResume(_ db: some QueueTestDatabase, peer: () throws -> any JobStore) throws {
        let control = try queueStore(db.queueStore)
        // Prefetch 0: a job is claimed only for an idle worker, so `job_started` follows its claim at once (jobs
        // claimed ahead before a pause may still start: docs/supervisor.md).
        let supervisor = try SupervisorProcess(
            database: db, workers: 2, arguments: ["--poll-interval", "60000", "--prefetch", "0"])
        try supervisor.waitForWorkers(2)
        let first = try enqueue(db, queue: "q", ms: 500, count: 1)[0]
        try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(first) }
        try control.setQueue(name: "q", paused: true, concurrency: nil, now: Date())
        let paused = try enqueue(db, queue: "q", ms: 20, count: 4)
        let others = try enqueue(db, queue: "other", ms: 20, count: 4)
        for id in others { try db.waitFor(id, .completed, log: supervisor) }
        try db.waitFor(first, .completed, log: supervisor)  // the running job finishes
        // Watch the database for a second: Q's jobs stay pending.
        let observer = try peer()
        let watchEnd = Date().addingTimeInterval(1.0)
        var leaked: [Int64] = []
        while Date() < watchEnd {
            leaked += try paused.filter { try observer.get(id: $0)?.status != .pending }
            if !leaked.isEmpty { break }
            usleep(5_000)
        }
        #expect(leaked.isEmpty, "jobs of a paused queue left pending: \(leaked)")
        let resumedAt = Date()
        try control.setQueue(name: "q", paused: false, concurrency: nil, now: resumedAt)
        for id in paused { try db.waitFor(id, .completed, timeout: 5, log: supervisor) }
        for id in paused {
            let job = try db.job(id)
            #expect(try #require(job.startedAt) >= resumedAt.addingTimeInterval(-0.002), "job \(id) started before the resume")
            let started = try #require(supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.first)
            #expect(try #require(startedAt(started)) >= resumedAt.addingTimeInterval(-0.002))
        }
        let firstStart = try #require(paused.compactMap { id in
            supervisor.events("job_started") { $0["job_id"] as? Int == Int(id) }.first.flatMap(startedAt)
        }.min())
        let latency = firstStart.timeIntervalSince(resumedAt)
        print("resume → first start of the queue: \(Int(latency * 1000)) ms")
        #expect(latency < 1.0)
    }

    /// Limit 2 on Q, 3 supervisors × 2 workers, Q's jobs of 50 ms: never more than 2 of Q running, sampled from the
    /// database every few ms and rebuilt from the supervisors' logs (start, start + duration); the other queue's jobs
    /// complete meanwhile.
    static func concurrencyLimit(_ db: some QueueTestDatabase, peer: () throws -> any JobStore) throws {
        try queueStore(db.queueStore).setQueue(name: "q", paused: nil, concurrency: .limit(2), now: Date())
        let limited = try enqueue(db, queue: "q", ms: 50, count: 24)
        let others = try enqueue(db, queue: "other", ms: 50, count: 12)
        // Sample the running count of Q from the database on a connection of its own.
        let sampler = try peer()
        let stop = Locked(false)
        let samples = Locked<[Int]>([])
        let samplerFailure = Locked<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            while !stop.withLock({ $0 }) {
                do {
                    let running = try sampler.stats(queue: "q").running
                    samples.withLock { $0.append(running) }
                } catch {
                    samplerFailure.withLock { $0 = "\(error)" }
                    return
                }
                usleep(2_000)
            }
        }.start()
        let supervisors = try (0..<3).map { i in
            try SupervisorProcess(database: db, workers: 2, arguments: ["--poll-interval", "60000"], logName: "supervisor-\(i).log")
        }
        defer { for supervisor in supervisors { supervisor.signal(SIGTERM) } }
        for id in limited + others { try db.waitFor(id, .completed, timeout: 30, log: supervisors[0]) }
        stop.withLock { $0 = true }
        done.wait()
        #expect(samplerFailure.withLock { $0 } == nil)
        let seen = samples.withLock { $0 }
        print("database samples of Q running: \(seen.count), max \(seen.max() ?? 0)")
        #expect(seen.count > 20)
        #expect((seen.max() ?? 0) <= 2)
        // The timeline from the logs: each job of Q from its start line to start + its duration. A job's line is
        // logged once its result is committed, and written a moment later: wait for all of them.
        let ids = Set(limited.map(Int.init))
        _ = try eventually("a job_completed line for every job of Q") {
            let logged = supervisors.reduce(0) { count, supervisor in
                count + supervisor.events("job_completed").count { ids.contains($0["job_id"] as? Int ?? -1) }
            }
            return logged >= limited.count ? true : nil
        }
        var edges: [(at: Double, delta: Int)] = []
        for supervisor in supervisors {
            for event in supervisor.events("job_completed") where ids.contains(event["job_id"] as? Int ?? -1) {
                let id = event["job_id"] as? Int
                let start = try #require(supervisor.events("job_started") { $0["job_id"] as? Int == id }.first.flatMap(startedAt))
                let duration = try #require((event["duration_ms"] as? NSNumber)?.doubleValue)
                let begin = start.timeIntervalSince1970 * 1000
                // Log times are whole milliseconds, and a `job_started` line is stamped just after the RUN went out
                // (a loaded loop can stamp it a few ms late, which moves the estimated end late too): allow 5 ms at
                // each end. The database samples above are the exact measure.
                edges.append((begin + 5, 1))
                edges.append((begin + duration - 5, -1))
            }
        }
        #expect(edges.count == 2 * limited.count)
        edges.sort { $0.at != $1.at ? $0.at < $1.at : $0.delta < $1.delta }
        var now = 0, most = 0
        for edge in edges {
            now += edge.delta
            most = max(most, now)
        }
        print("log timeline: at most \(most) jobs of Q at once")
        #expect(most <= 2)
        #expect(most >= 1)
        // Other queues kept flowing while Q was held to 2 (24 jobs of 50 ms, 2 at a time): most of the other queue
        // was done before Q's last job. (Not all of it: a supervisor may hold an other job it prefetched while
        // its workers run Q's, and on a loaded machine that one can finish last.)
        let lastLimited = try #require(try limited.compactMap { try db.job($0).completedAt }.max())
        let othersFirst = try others.filter { try #require(try db.job($0).completedAt) < lastLimited }.count
        #expect(othersFirst * 2 >= others.count, "\(othersFirst) of \(others.count) other jobs done before Q's last")
    }
}
