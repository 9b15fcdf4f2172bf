import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

extension IntegrationTests {
    /// No busy polling: with a one-minute poll, new jobs from another process and due retries still start at once;
    /// retries and delayed jobs start within milliseconds of their `runAt`, whatever the poll interval.
    @Suite struct Wakeups {
        @Test func aJobEnqueuedByAnotherProcessWakesAnIdleSupervisor() throws {
            try Self.expectExternalEnqueuesWakeAnIdleSupervisor(try TestDatabase(), samples: 3)
        }

        /// With the poll at a minute, `samples` jobs enqueued one by one on the test's own connection each start
        /// within 500 ms: the backend's change signal woke the supervisor.
        static func expectExternalEnqueuesWakeAnIdleSupervisor(_ db: some QueueTestDatabase, samples: Int) throws {
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--poll-interval", "60000"])
            try supervisor.waitForWorkers(1)
            var latencies: [Double] = []
            for _ in 0..<samples {
                let enqueued = Date()
                let id = try db.enqueue("noop")
                let started = try supervisor.waitFor("job_started", timeout: 5) { $0["job_id"] as? Int == Int(id) }
                let at = try #require(Timestamp.parse(started["ts"] as? String ?? ""))
                latencies.append(at.timeIntervalSince(enqueued) * 1000)
                try db.waitFor(id, .completed, log: supervisor)
            }
            print("pickup latency of an external enqueue (\(db.dbArgument.hasPrefix("postgres") ? "PostgreSQL" : "SQLite")): "
                + "\(latencies.map { String(format: "%.1f ms", $0) })")
            #expect(latencies.allSatisfy { $0 < 500 }, "\(latencies)")
        }

        @Test func aDueRetryStartsWithoutWaitingForThePoll() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("fail", ["message": "once"], maxAttempts: 2, retry: .linear(delay: 300))
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--poll-interval", "60000"])
            let job = try db.waitFor(id, .failed, timeout: 5, log: supervisor)
            #expect(job.attempts == 2)
            let starts = supervisor.events("job_started").compactMap { Timestamp.parse($0["ts"] as? String ?? "") }
            #expect(starts.count == 2)
            if starts.count == 2 {
                let gap = starts[1].timeIntervalSince(starts[0]) * 1000
                #expect(gap >= 290 && gap < 1000, "second attempt \(gap) ms after the first")
            }
        }

        @Test func retriesStartOnTimeWhateverThePollInterval() async throws {
            try await BlockingWork.run { try Self.expectRetriesStartOnTime(try TestDatabase()) }
        }

        @Test func delayedJobsOfAnotherProcessStartOnTimeWhateverThePollInterval() async throws {
            try await BlockingWork.run { try Self.expectDelayedJobsStartOnTime(try TestDatabase()) }
        }

        /// The bound a loaded CI machine meets; on a quiet one each start is a few ms late (the figures printed).
        static let lateBoundMs = 250.0

        /// With the poll at 5 s and an idle worker, a job that fails `retries + 1` times, retried 150 ms after each
        /// failure: how late each retry started after its `runAt`, from the stored timestamps. After attempt k fails,
        /// the row is pending with `attempts == k`, its `runAt` the next attempt's and its `startedAt` when attempt
        /// k's RUN was sent.
        static func expectRetriesStartOnTime(_ db: some QueueTestDatabase, retries: Int = 12) throws {
            let id = try db.enqueue("fail", ["message": "again"], maxAttempts: retries + 1, retry: .linear(delay: 150))
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--poll-interval", "5000", "--debug"])
            var runAt: [Int: Date] = [:], startedAt: [Int: Date] = [:]
            _ = try eventually("attempt \(retries + 1) of job \(id) to fail", timeout: 30, context: { supervisor.logTail() }) {
                () -> Bool? in
                let job = try db.job(id)
                if job.status == .pending && job.attempts > 0 {
                    runAt[job.attempts + 1] = job.runAt
                    startedAt[job.attempts] = job.startedAt
                } else if job.status == .failed {
                    startedAt[job.attempts] = job.startedAt
                    return true
                }
                return nil
            }
            let late = (2...(retries + 1)).compactMap { attempt -> Double? in
                guard let due = runAt[attempt], let started = startedAt[attempt] else { return nil }
                return started.timeIntervalSince(due) * 1000
            }
            report("retry", late, db)
            #expect(late.count >= retries - 2, "retries seen: \(late.count) of \(retries)")
            #expect(late.allSatisfy { $0 >= 0 && $0 < lateBoundMs }, "ms late: \(late)\n\(supervisor.logTail(200))")
        }

        /// With the poll at 5 s and an idle worker, jobs enqueued by another connection in one batch, due 100 ms
        /// apart in shuffled order: the change signal leads to the soonest, each start to the next. How late each
        /// started after its `runAt`, from the stored timestamps.
        static func expectDelayedJobsStartOnTime(_ db: some QueueTestDatabase, jobs: Int = 10) throws {
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--poll-interval", "5000", "--debug"])
            try supervisor.waitForWorkers(1)
            let start = Date().addingTimeInterval(0.3)
            let order = Array(0..<jobs).shuffled()
            let ids = try db.queueStore.enqueue(
                batch: order.map { i in
                    JobSpec(objectType: "Demo", method: "noop", runAt: start.addingTimeInterval(Double(i) * 0.1))
                },
                now: Date())
            var late: [Double] = []
            for id in ids {
                let job = try db.waitFor(id, .completed, timeout: 10, log: supervisor)
                let started = try #require(job.startedAt)
                late.append(started.timeIntervalSince(job.runAt) * 1000)
            }
            report("delayed job", late, db)
            #expect(late.allSatisfy { $0 >= 0 && $0 < lateBoundMs }, "ms late: \(late)\n\(supervisor.logTail(200))")
        }

        /// Prints the median and the worst of `lateMs`.
        static func report(_ what: String, _ lateMs: [Double], _ db: some QueueTestDatabase) {
            let sorted = lateMs.sorted()
            guard !sorted.isEmpty else { return }
            let backend = db.dbArgument.hasPrefix("postgres") ? "PostgreSQL" : "SQLite"
            print("\(what) start after its runAt (\(backend), poll 5000 ms, \(sorted.count) samples): "
                + String(format: "p50 %.0f ms, max %.0f ms; ", sorted[sorted.count / 2], sorted.last!)
                + "\(lateMs.map { String(format: "%.0f", $0) }.joined(separator: " ")) ms")
        }
    }
}
