import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Workers that end their work between jobs (RETIRE in protocol 3, or an exit 0 in any version) are retirements:
    /// replaced at once, without back-off, and no job loses an attempt by them, not even one whose RUN was already on
    /// its way to the worker. A job that read its RUN and exited 0 itself still counts its attempt. The bodies take
    /// any database: SQLite here, PostgreSQL in `Postgres/`.
    @Suite struct Retirement {
        /// How the workers of a run end their work.
        enum Ending: String, CaseIterable, Sendable {
            /// The demo worker (protocol 3): `SmrtWorker.retire()` in `Demo.retire`, then RETIRE and exit 0.
            case retire
            /// The demo worker speaking protocol 2: `Demo.retire` exits 0 after the result, without RETIRE.
            case exitVersion2
            /// A Python worker of protocol 1 that exits 0 after each result without reading anything more.
            case exitVersion1

            var workerExec: String {
                switch self {
                case .retire: WorkerHarness.demoWorkerPath
                case .exitVersion2: "\(WorkerHarness.demoWorkerPath) --protocol-version 2"
                case .exitVersion1: "python3 \(WorkerHarness.scriptedWorkerPath) exit-after-result"
                }
            }

            /// A job that is its worker's last.
            func enqueueLastJob(_ db: some QueueTestDatabase, _ index: Int) throws -> Int64 {
                switch self {
                case .retire, .exitVersion2: try db.enqueue("retire", maxAttempts: 1)
                case .exitVersion1: try db.enqueue("echo", ["n": .int(Int64(index))], type: "PyDemo", maxAttempts: 1)
                }
            }
        }

        static func prefetchArguments(_ prefetch: Int?) -> [String] {
            prefetch.map { ["--prefetch", String($0)] } ?? []
        }

        /// 10 jobs of one attempt each (`--retries 1`), each the last job of its worker, on 2 workers: every job
        /// completes in its one attempt, 10 retirements are logged and counted (`retired` in the lease row), and
        /// nothing is a failure: no back-off, no unexpected exit. Jobs whose RUN crossed a worker's end went back to
        /// pending uncounted (`job_released`) and ran on the replacement.
        static func expectTenRetirementsCostNoAttempt(_ db: some QueueTestDatabase, ending: Ending, prefetch: Int?) throws {
            let ids = try (0..<10).map { try ending.enqueueLastJob(db, $0) }
            let supervisor = try SupervisorProcess(
                database: db, workers: 2, workerExec: ending.workerExec,
                arguments: prefetchArguments(prefetch) + ["--heartbeat-interval", "200"])
            for id in ids {
                let job = try db.waitFor(id, .completed, timeout: 30, log: supervisor)
                #expect(job.attempts == 1, "job \(id): \(job.attempts) attempts")
            }
            let retired = try supervisor.waitFor("worker_retired", count: 10, timeout: 20)
            #expect(retired.count == 10)
            #expect(retired.allSatisfy { $0["how"] as? String == (ending == .retire ? "retire" : "exit") })
            try supervisor.waitForWorkers(2, timeout: 20)
            #expect(supervisor.events("job_failed").isEmpty && supervisor.events("job_retrying").isEmpty)
            #expect(supervisor.events("worker_restarting").isEmpty, "a retirement is no failure: no back-off")
            #expect(supervisor.events("worker_exited").allSatisfy { $0["expected"] as? Bool == true })
            let released = supervisor.events("job_released")
            for event in released {
                #expect(ids.contains(Int64(event["job_id"] as? Int ?? 0)))
                let reason = event["reason"] as? String ?? ""
                #expect(reason.contains("crossed the worker's RETIRE") || reason.contains("without reading its RUN"), "\(reason)")
            }
            let exits = try eventually("the lease row to count 10 retired workers", timeout: 10, context: { supervisor.logTail() }) {
                () -> [String: Int]? in
                let exits = try db.queueStore.listWorkers().first?.stats?.workerExits ?? [:]
                return exits["retired"] == 10 ? exits : nil
            }
            #expect(exits == ["retired": 10])
            print("\(ending.rawValue), prefetch \(prefetch.map(String.init) ?? "default"): 10 of 10 jobs completed in one attempt, 10 retirements, \(released.count) RUN(s) sent to a retiring worker went back uncounted")
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        /// The worker (protocol 3) takes the RUN of the second job and answers RETIRE: to the supervisor, a RUN that
        /// crossed RETIRE. The job goes back to pending once the worker has exited, uncounted, and the replacement
        /// runs it.
        static func expectARunThatCrossedRetireGoesBackUncounted(_ db: some QueueTestDatabase, prefetch: Int?) throws {
            let first = try db.enqueue("echo", ["n": 1], type: "PyDemo", maxAttempts: 1)
            let second = try db.enqueue("echo", ["n": 2], type: "PyDemo", maxAttempts: 1)
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, workerExec: "python3 \(WorkerHarness.scriptedWorkerPath) cross-retire",
                arguments: prefetchArguments(prefetch))
            #expect(try db.waitFor(first, .completed, log: supervisor).attempts == 1)
            let job = try db.waitFor(second, .completed, timeout: 20, log: supervisor)
            #expect(job.attempts == 1)
            let retired = try supervisor.waitFor("worker_retired") { $0["job_id"] as? Int == Int(second) }
            #expect(retired["how"] as? String == "retire")
            let released = try supervisor.waitFor("job_released") { $0["job_id"] as? Int == Int(second) }
            #expect((released["reason"] as? String)?.contains("crossed the worker's RETIRE") == true)
            // The log writer may lag the database: the lines of the second run are all there once its last one is.
            try supervisor.waitFor("job_completed") { $0["job_id"] as? Int == Int(second) }
            #expect(supervisor.events("job_started") { $0["job_id"] as? Int == Int(second) }.count == 2)
            #expect(supervisor.events("job_failed").isEmpty && supervisor.events("protocol_error").isEmpty)
            #expect(supervisor.events("worker_restarting").isEmpty)
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        @Test(arguments: Ending.allCases, [Int?.none, 0])
        func tenRetirementsCostNoAttempt(_ ending: Ending, _ prefetch: Int?) async throws {
            try await BlockingWork.run {
                try Self.expectTenRetirementsCostNoAttempt(try TestDatabase(), ending: ending, prefetch: prefetch)
            }
        }

        @Test(arguments: [Int?.none, 0])
        func aRunThatCrossedRetireGoesBackUncounted(_ prefetch: Int?) async throws {
            try await BlockingWork.run {
                try Self.expectARunThatCrossedRetireGoesBackUncounted(try TestDatabase(), prefetch: prefetch)
            }
        }

        /// A job that read its RUN and exited 0 ran: the attempt counts, as for any exit during a job (otherwise it
        /// would come back forever). Also when it is the worker's first job.
        @Test func aJobThatExitsZeroItselfCountsItsAttempt() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let noop = try db.enqueue("noop")
                let afterAResult = try db.enqueue("exit", ["code": 0], maxAttempts: 1)
                let supervisor = try SupervisorProcess(database: db, workers: 1)
                try db.waitFor(noop, .completed, log: supervisor)
                let first = try db.waitFor(afterAResult, .failed, log: supervisor)
                #expect(first.attempts == 1)
                #expect(first.lastError?.hasSuffix("exited with code 0") == true, "\(first.lastError ?? "-")")
                // The replacement's first job.
                let firstJob = try db.enqueue("exit", ["code": 0], maxAttempts: 1)
                let second = try db.waitFor(firstJob, .failed, log: supervisor)
                #expect(second.attempts == 1)
                #expect(supervisor.events("job_released").isEmpty)
                #expect(supervisor.events("worker_retired").isEmpty)
            }
        }

        @Test func retireFromAVersion2WorkerIsAProtocolError() async throws {
            try await BlockingWork.run {
                let db = try TestDatabase()
                let id = try db.enqueue("echo", ["n": 1], type: "PyDemo", maxAttempts: 1)
                let supervisor = try SupervisorProcess(
                    database: db, workers: 1, workerExec: "python3 \(WorkerHarness.scriptedWorkerPath) retire-v2")
                let error = try supervisor.waitFor("protocol_error")
                #expect((error["reason"] as? String) == "RETIRE from a worker of protocol version 2 (RETIRE is version 3)")
                #expect(try db.waitFor(id, .completed, log: supervisor).attempts == 1, "its result came before RETIRE")
                #expect(supervisor.events("worker_retired").isEmpty)
            }
        }
    }
}
