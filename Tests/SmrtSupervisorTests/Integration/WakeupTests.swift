import Foundation
import SmrtJobs
import Testing

extension IntegrationTests {
    /// No busy polling: with a one-minute poll, new jobs from another process and due retries still start at once.
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
    }
}
