import Foundation
import Logging
import SmrtJobs
import SmrtJobsMemory
import Testing
@testable import SmrtSupervisor

extension IntegrationTests {
    /// The backend seam, proved with a second backend: the real supervisor, in this process, runs jobs from an
    /// in-memory store (no SQLite anywhere) in real worker processes: crash isolation, a kill timeout, a retry,
    /// a wake-up by the backend's change signal, and a clean stop.
    @Suite struct MemoryBackendSupervisor {
        /// The supervisor on a thread of its own (its `run()` is the loop), stopped at the end.
        final class Running: Sendable {
            let supervisor: Supervisor
            private let exit = Locked<Result<Int32, any Error>?>(nil)

            init(_ supervisor: Supervisor) {
                self.supervisor = supervisor
                let thread = Thread { [exit] in
                    let result = Result { try supervisor.run() }
                    exit.withLock { $0 = result }
                }
                thread.name = "supervisor-under-test"
                thread.start()
            }

            /// Stops it gracefully and returns what `run()` returned.
            func stop(timeout: Double = 30) throws -> Int32 {
                supervisor.requestStop()
                return try eventually("the supervisor to stop", timeout: timeout) { exit.withLock { $0 } }.get()
            }
        }

        static func waitFor(
            _ id: Int64, in store: MemoryJobStore, timeout: Double = 30, _ done: (SmrtJob) -> Bool
        ) throws -> SmrtJob {
            try eventually("job \(id)", timeout: timeout) { try store.get(id: id).flatMap { done($0) ? $0 : nil } }
        }

        static func spec(_ method: String, _ args: [String: JSONValue] = [:]) -> JobSpec {
            JobSpec(objectType: "Demo", method: method, args: args)
        }

        @Test func supervisorRunsJobsFromTheMemoryBackendInRealWorkers() throws {
            let backend = MemoryBackend(name: "seam-test")
            let store = backend.openMemoryStore()
            var crash = Self.spec("crash", ["signal": "SEGV"])
            crash.maxAttempts = 2
            crash.retryStrategy = .linear(delay: 10)
            var spin = Self.spec("spin")
            spin.timeout = 500
            spin.timeoutBehavior = .kill
            spin.maxAttempts = 1
            let crashId = try store.enqueue(crash, now: Date()).id
            let spinId = try store.enqueue(spin, now: Date()).id
            let noops = try (0..<20).map { _ in try store.enqueue(Self.spec("noop"), now: Date()).id }

            var configuration = SupervisorConfiguration(
                database: backend.displayName, workerExec: [WorkerHarness.demoWorkerPath], workers: 2,
                pollInterval: 60_000)
            configuration.healthCheckInterval = 100
            let running = Running(
                Supervisor(
                    configuration: configuration, backend: backend,
                    logger: Logger(label: "memory-backend-test") { _ in SwiftLogNoOpLogHandler() }))

            for id in noops {
                let job = try Self.waitFor(id, in: store) { $0.status.isTerminal }
                #expect(job.status == .completed)
            }
            let crashed = try Self.waitFor(crashId, in: store) { $0.status.isTerminal }
            #expect(crashed.status == .failed && crashed.attempts == 2, "retried once under its strategy, then failed")
            #expect(crashed.lastError?.hasSuffix("killed by signal 11 (SIGSEGV)") == true, "\(crashed.lastError ?? "nil")")
            let killed = try Self.waitFor(spinId, in: store) { $0.status.isTerminal }
            #expect(killed.status == .failed)
            #expect(killed.lastError?.hasPrefix("timed out after 500 ms") == true, "\(killed.lastError ?? "nil")")

            // With the poll at 60 s, only the backend's change signal can wake the idle supervisor.
            let late = try store.enqueue(Self.spec("echo", ["hello": "seam"]), now: Date()).id
            let echoed = try Self.waitFor(late, in: store, timeout: 20) { $0.status.isTerminal }
            #expect(echoed.status == .completed)
            #expect(echoed.result == .object(["hello": "seam"]))

            #expect(try running.stop() == 0)
            #expect(try store.listWorkers().isEmpty, "the lease is removed at stop")
            #expect(try store.stats(queue: nil).running == 0)
        }
    }
}
