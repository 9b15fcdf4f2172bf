import Foundation
import MetricsTestKit
import SmrtBackends
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsMemory
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// What the supervisor tells about its jobs and itself, end to end with real workers: progress stored on the
    /// job (at most once a second), bad progress as a protocol error, how each attempt's worker ended, and the
    /// counters its lease row publishes (and swift-metrics gets). The bodies take any backend: SQLite here, memory
    /// for the seam, PostgreSQL in `Postgres/`.
    @Suite struct Monitoring {
        /// A job reporting 200 times in 1.8 s: its progress is visible while it runs, the last value is stored
        /// before its result, and the store is written at most once a second (plus that last value), counted on the
        /// store calls themselves.
        static func expectProgressStoredAtMostOncePerSecond(store: any JobStore, backend: any JobBackend) throws {
            let counting = CountingBackend(backend)
            let id = try store.enqueue(
                JobSpec(objectType: "Demo", method: "progress", args: ["steps": 200, "ms": 1800]), now: Date()
            ).id
            let supervisor = EmbeddedSupervisor(backend: counting, workers: 1)
            let running = try supervisor.waitFor(id, on: store, "to show its progress while it runs") {
                $0.status == .running && $0.progress != nil
            }
            #expect(try #require(running.progress).fraction < 1)
            let job = try supervisor.waitFor(id, on: store)
            #expect(job.status == .completed)
            #expect(job.progress?.fraction == 1)
            #expect(job.progress?.message == "step 200 of 200")
            let progressAt = try #require(job.progress?.updatedAt)
            #expect(progressAt >= running.progress!.updatedAt && progressAt <= job.completedAt!.addingTimeInterval(0.001))

            // The wrapper writes a call down after the store returns, so a reader of the store (the memory backend's
            // above all) can see the job completed a moment before the call that completed it is on the list.
            let all = try eventually("the wrapper to record job \(id)'s result") {
                counting.writes.contains(.finish(jobId: id)) ? counting.writes : nil
            }
            let seconds = try #require(job.completedAt).timeIntervalSince(try #require(job.startedAt))
            let writes = all.filter { if case .progress(id, _, _) = $0 { true } else { false } }
            // The first report at once, one a second after that, and the value waiting at the end.
            #expect(writes.count >= 2 && writes.count <= Int(seconds) + 2, "\(writes.count) writes in \(seconds) s: \(writes)")
            if seconds < 2 { #expect(writes.count <= 3, "200 reports in under 2 s") }
            #expect(writes.last == .progress(jobId: id, fraction: 1, message: "step 200 of 200"), "the last report is written last")
            let lastProgress = try #require(all.lastIndex { if case .progress(id, _, _) = $0 { true } else { false } })
            let finish = try #require(all.firstIndex(of: .finish(jobId: id)))
            #expect(lastProgress < finish, "the last progress is written before the result")
            #expect(supervisor.log.events("job_progress").count == 200, "every report has its debug line")
            #expect(supervisor.log.events("job_progress").allSatisfy { $0.level == .debug })
            #expect(try supervisor.stop() == 0)
        }

        /// Progress that is not `{"fraction": 0…1, "message": "…"}` is a protocol error naming the field: the worker is
        /// killed, the job fails with that error, nothing is stored, and a replacement worker runs the next job.
        static func expectBadProgressIsAProtocolError(store: any JobStore, backend: any JobBackend) throws {
            let counting = CountingBackend(backend)
            let cases: [(value: JSONValue, field: String)] = [
                ("half", "progress"), (["fraction": 1.5], "progress.fraction"), (["message": "no fraction"], "progress.fraction"),
                (["fraction": 0.5, "message": 7], "progress.message"),
            ]
            let ids = try cases.map { item in
                try store.enqueue(
                    JobSpec(objectType: "Demo", method: "rawProgress", args: ["value": item.value], maxAttempts: 1), now: Date()
                ).id
            }
            let supervisor = EmbeddedSupervisor(backend: counting, workers: 2)
            for (id, item) in zip(ids, cases) {
                let job = try supervisor.waitFor(id, on: store)
                #expect(job.status == .failed)
                let error = job.lastError ?? ""
                #expect(error.hasPrefix("protocol error: PROGRESS for job \(id): invalid \(item.field) '"), "\(error)")
                #expect(job.progress == nil, "nothing stored")
                #expect(job.workerExit == "killed for a protocol error")
                #expect(counting.progressWrites(of: id).isEmpty, "never handed to the store")
            }
            let errors = supervisor.log.events("protocol_error")
            #expect(errors.count == cases.count)
            for item in cases { #expect(errors.contains { $0.metadata["reason"]?.contains("invalid \(item.field) '") == true }) }
            let next = try store.enqueue(JobSpec(objectType: "Demo", method: "noop"), now: Date()).id
            #expect(try supervisor.waitFor(next, on: store).status == .completed)
            #expect(try supervisor.stop() == 0)
        }

        /// Jobs that end every way a worker can end them: each records the worker's pid and how it ended; the lease
        /// row's snapshot counts the attempts, the worker exits and the histograms, and shows the live workers with
        /// their memory; an injected metrics factory got the same counts.
        static func expectTheLeaseRowPublishesTheSupervisor(store: any JobStore, backend: any JobBackend) throws {
            func spec(_ method: String, _ args: [String: JSONValue] = [:], timeout: Int = 30_000, behavior: TimeoutBehavior = .fail) -> JobSpec {
                JobSpec(objectType: "Demo", method: method, args: args, maxAttempts: 1, timeout: timeout, timeoutBehavior: behavior)
            }
            let noops = try (0..<5).map { _ in try store.enqueue(spec("noop"), now: Date()).id }
            let crash = try store.enqueue(spec("crash", ["signal": "SEGV"]), now: Date()).id
            let spin = try store.enqueue(spec("spin", timeout: 500, behavior: .kill), now: Date()).id
            let exit = try store.enqueue(spec("exit", ["code": 3]), now: Date()).id
            let fail = try store.enqueue(spec("fail", ["message": "boom"]), now: Date()).id
            let factory = TestMetrics()
            let supervisor = EmbeddedSupervisor(backend: backend, workers: 2, metricsFactory: factory) {
                $0.heartbeatInterval = 200
            }
            let spawned = { Set(supervisor.log.events("worker_spawned").compactMap { $0.metadata["worker_pid"].flatMap { Int32($0) } }) }

            // How each attempt's worker ended.
            let expected: [(Int64, JobStatus, String)] = noops.map { ($0, .completed, "returned a result") } + [
                (crash, .failed, "killed by signal 11 (SIGSEGV)"), (spin, .failed, "killed at its 500 ms timeout"),
                (exit, .failed, "exit code 3"), (fail, .failed, "returned an error"),
            ]
            for (id, status, ended) in expected {
                let job = try supervisor.waitFor(id, on: store)
                #expect(job.status == status, "job \(id)")
                #expect(job.workerExit == ended, "job \(id)")
                let pid = try #require(job.workerPid, "job \(id) has no worker pid")
                #expect(spawned().contains(pid), "job \(id) ran in worker \(pid), one the supervisor spawned")
            }

            // The lease row, at a heartbeat after the last result.
            let leaseId = supervisor.supervisor.leaseId
            let stats = try eventually("the lease row to show 9 finished attempts and 2 idle workers", timeout: 20, context: {
                "row: \(String(describing: (try? store.listWorkers())?.first { $0.id == leaseId }?.stats))"
            }) { () -> SupervisorSnapshot? in
                guard let stats = try store.listWorkers().first(where: { $0.id == leaseId })?.stats else { return nil }
                let done = stats.finished.reduce(0) { $0 + $1.count }
                return done == 9 && stats.workers.count == 2 && stats.workers.allSatisfy({ $0.state == "idle" }) ? stats : nil
            }
            #expect(stats.finished == [
                FinishedCount(queue: "default", type: "Demo", outcome: .completed, count: 5),
                FinishedCount(queue: "default", type: "Demo", outcome: .failed, count: 4),
            ])
            #expect(stats.workerExits == ["signal": 1, "timeout_kill": 1, "exit": 1])
            #expect(stats.jobDuration.count == 9 && stats.queueWait.count == 9)
            #expect(stats.killLateness.count == 1)
            #expect(stats.killLateness.sum >= 0 && stats.killLateness.sum < 0.1, "killed \(stats.killLateness.sum) s late")
            #expect(stats.configuredWorkers == 2 && stats.version == SupervisorSnapshot.currentVersion)
            for worker in stats.workers {
                #expect(processIsAlive(worker.pid) && spawned().contains(worker.pid))
                #expect((worker.rssBytes ?? 0) > 1 << 20, "worker \(worker.pid) RSS \(worker.rssBytes ?? 0)")
                #expect(worker.jobId == nil && worker.jobLabel == nil && worker.startedAt <= stats.takenAt)
            }

            // The same events through swift-metrics.
            func finished(_ outcome: String) throws -> Int64 {
                try factory.expectCounter(
                    JobMetrics.finishedLabel, [("queue", "default"), ("type", "Demo"), ("outcome", outcome)]
                ).totalValue
            }
            #expect(try finished("completed") == 5 && finished("failed") == 4 && finished("retried") == 0)
            #expect(try factory.expectCounter(JobMetrics.workerExitsLabel, [("reason", "timeout_kill")]).totalValue == 1)
            #expect(try factory.expectCounter(JobMetrics.workerExitsLabel, [("reason", "signal")]).totalValue == 1)
            #expect(try factory.expectTimer(JobMetrics.durationLabel).values.count == 9)
            #expect(try factory.expectTimer(JobMetrics.queueWaitLabel).values.count == 9)
            #expect(try factory.expectTimer(JobMetrics.killLatenessLabel).values.count == 1)
            #expect(try factory.expectGauge(JobMetrics.workersLabel, [("state", "idle")]).lastValue == 2)
            #expect(try supervisor.stop() == 0)
        }

        static func sqlite() throws -> (TestDatabase, any JobBackend) {
            let db = try TestDatabase()
            return (db, try Backends.open(db.path))
        }

        @Test func progressIsStoredAtMostOncePerSecond() async throws {
            try await BlockingWork.run {
                let (db, backend) = try Self.sqlite()
                try Self.expectProgressStoredAtMostOncePerSecond(store: db.store, backend: backend)
            }
        }

        @Test func badProgressIsAProtocolErrorNamingTheField() async throws {
            try await BlockingWork.run {
                let (db, backend) = try Self.sqlite()
                try Self.expectBadProgressIsAProtocolError(store: db.store, backend: backend)
            }
        }

        @Test func leaseRowPublishesCountsWorkersAndHowAttemptsEnded() async throws {
            try await BlockingWork.run {
                let (db, backend) = try Self.sqlite()
                try Self.expectTheLeaseRowPublishesTheSupervisor(store: db.store, backend: backend)
            }
        }

        /// The same on the memory backend: the supervisor needs nothing of a store beyond the seam.
        @Test func theMemoryBackendGetsTheSameFromTheSupervisor() async throws {
            try await BlockingWork.run {
                let backend = MemoryBackend(name: "monitoring-\(UUID().uuidString.prefix(8))")
                try Self.expectProgressStoredAtMostOncePerSecond(store: backend.openMemoryStore(), backend: backend)
                let second = MemoryBackend(name: "monitoring-\(UUID().uuidString.prefix(8))")
                try Self.expectBadProgressIsAProtocolError(store: second.openMemoryStore(), backend: second)
                let third = MemoryBackend(name: "monitoring-\(UUID().uuidString.prefix(8))")
                try Self.expectTheLeaseRowPublishesTheSupervisor(store: third.openMemoryStore(), backend: third)
            }
        }
    }
}
