import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// The real supervisor on PostgreSQL: a fresh schema of the tests' server per test, real worker processes.
    /// Skipped (with the reason) without a server, except in CI, where a missing server fails them.
    @Suite(.enabled(if: PostgresTestServer.testsEnabled, "no PostgreSQL server: set SMRT_TEST_POSTGRES_URL or run scripts/test.sh"))
    struct PostgreSQL {
        /// The ledger's lines counted per number (Demo.append writes one line per execution).
        static func ledgerCounts(_ path: String) throws -> [Int: Int] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            var counts: [Int: Int] = [:]
            for line in text.split(separator: "\n") {
                let number = try #require(Int(line), "malformed ledger line '\(line)'")
                counts[number, default: 0] += 1
            }
            return counts
        }

        static func appendJobs(_ count: Int, ledger: String, into db: PostgresTestDatabase, ms: Int? = nil) throws {
            let specs = (0..<count).map { i in
                JobSpec(objectType: "Demo", method: "append", args: ["path": .string(ledger), "line": .string(String(i))])
            }
            for chunk in stride(from: 0, to: specs.count, by: 1000) {
                _ = try db.queueStore.enqueue(batch: Array(specs[chunk..<min(chunk + 1000, specs.count)]), now: Date())
            }
        }

        static func waitForCompleted(_ count: Int, in db: PostgresTestDatabase, timeout: Double, logs: [SupervisorProcess]) throws {
            _ = try eventually("all \(count) jobs completed", timeout: timeout, context: {
                "stats: \((try? db.queueStore.stats(queue: nil)).map { "\($0)" } ?? "?")\n" + (logs.first?.logTail() ?? "")
            }) { () -> Bool? in
                try db.queueStore.stats(queue: nil).completed == count ? true : nil
            }
        }

        /// An idle supervisor polling once a minute starts a job enqueued on another connection at once: the
        /// enqueue's NOTIFY wakes it.
        @Test func notifyWakesAnIdleSupervisor() throws {
            try Wakeups.expectExternalEnqueuesWakeAnIdleSupervisor(try PostgresTestDatabase(), samples: 5)
        }

        /// Workers that retire (RETIRE, and a bare exit 0 of protocol 2) cost no job an attempt: a RUN that crossed a
        /// worker's end goes back through PostgreSQL's release, uncounted.
        @Test func retirementsCostNoAttempt() async throws {
            try await BlockingWork.run {
                try Retirement.expectTenRetirementsCostNoAttempt(try PostgresTestDatabase(), ending: .retire, prefetch: nil)
                try Retirement.expectTenRetirementsCostNoAttempt(try PostgresTestDatabase(), ending: .exitVersion2, prefetch: 0)
                try Retirement.expectARunThatCrossedRetireGoesBackUncounted(try PostgresTestDatabase(), prefetch: nil)
            }
        }

        /// With the poll at 5 s, retries and delayed jobs enqueued on another connection start within ms of their
        /// `runAt`: the claim compares with the same clock (the server's, as this supervisor corrects its own) that
        /// the wake-ups are timed by.
        @Test func retriesAndDelayedJobsStartOnTime() async throws {
            try await BlockingWork.run {
                try Wakeups.expectRetriesStartOnTime(try PostgresTestDatabase())
                try Wakeups.expectDelayedJobsStartOnTime(try PostgresTestDatabase())
            }
        }

        /// A kill timeout is a SIGKILL on time, a crash takes down only its worker, and the other jobs run.
        @Test func killTimeoutAndCrashIsolation() throws {
            let db = try PostgresTestDatabase()
            let spin = try db.enqueue("spin", ["pidFile": .string(db.file("spin.pid"))], timeout: 500, behavior: .kill)
            let crash = try db.enqueue("crash", ["signal": "SEGV"])
            let noops = try (0..<20).map { _ in try db.enqueue("noop") }
            let supervisor = try SupervisorProcess(database: db, workers: 2)
            let kill = try supervisor.waitFor("job_timeout", timeout: 10) { $0["job_id"] as? Int == Int(spin) }
            #expect(kill["action"] as? String == "kill")
            let late = try #require(kill["late_ms"] as? Double)
            #expect(late >= 0 && late < 100, "killed \(late) ms late")
            let spun = try db.waitFor(spin, .failed, log: supervisor)
            #expect(spun.lastError?.hasPrefix("timed out after 500 ms") == true)
            let crashed = try db.waitFor(crash, .failed, log: supervisor)
            #expect(crashed.lastError?.contains("SIGSEGV") == true, "\(crashed.lastError ?? "-")")
            for id in noops { try db.waitFor(id, .completed, log: supervisor) }
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        /// The supervisor holds connections to the server (store, change signal); its workers get descriptors
        /// 0–3 and nothing else.
        @Test func workersInheritNoDatabaseConnection() throws {
            let db = try PostgresTestDatabase()
            let command = "/bin/sh -c 'ls /proc/$$/fd; exec \"$0\"' '\(WorkerHarness.demoWorkerPath)'"
            let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: command)
            let ready = try supervisor.waitFor("worker_ready")
            let pid = try #require(ready["worker_pid"] as? Int)
            let sockets = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(supervisor.pid)/fd")
                .compactMap { linkTarget("/proc/\(supervisor.pid)/fd/\($0)") }.filter { $0.hasPrefix("socket:") }
            #expect(sockets.count >= 2, "the supervisor should hold its database connections: \(sockets)")
            let lines = try supervisor.waitFor("worker_output", count: 4) { $0["worker_pid"] as? Int == pid }
            #expect(lines.compactMap { $0["line"] as? String } == ["0", "1", "2", "3"])
            let workerSockets = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
                .compactMap { linkTarget("/proc/\(pid)/fd/\($0)") }.filter { sockets.contains($0) }
            #expect(workerSockets.isEmpty, "the worker holds the supervisor's sockets \(workerSockets)")
        }

        /// A supervisor killed with SIGKILL while it runs a job: the next supervisor on this host sees its pid gone
        /// and takes the job back at once; the attempt counts, and the job completes.
        @Test func jobsOfAKilledSupervisorAreTakenBack() throws {
            let db = try PostgresTestDatabase()
            let id = try db.enqueue("sleep", ["ms": 30_000], maxAttempts: 3)
            let first = try SupervisorProcess(database: db, workers: 1, logName: "first.log")
            try db.waitFor(id, .running, log: first)
            first.signal(SIGKILL)
            _ = try first.waitForExit()
            try PostgresTestServer.psql("UPDATE \(db.schema)._smrt_jobs SET args = '{\"ms\": 10}' WHERE id = \(id)")
            let second = try SupervisorProcess(database: db, workers: 1, logName: "second.log")
            let recovered = try second.waitFor("lease_recovered", timeout: 10)
            #expect((recovered["reason"] as? String)?.contains("is gone") == true)
            let job = try db.waitFor(id, .completed, log: second)
            #expect(job.attempts == 2)
        }

        /// Three supervisors on one database: the claim's `FOR UPDATE SKIP LOCKED` hands each job to one of them.
        @Test func threeSupervisorsRunEveryJobExactlyOnce() throws {
            let db = try PostgresTestDatabase()
            let ledger = db.file("ledger.txt")
            let count = 1500
            try Self.appendJobs(count, ledger: ledger, into: db)
            let supervisors = try (1...3).map { n in
                try SupervisorProcess(database: db, workers: 1, logName: "supervisor\(n).log")
            }
            try Self.waitForCompleted(count, in: db, timeout: 90, logs: supervisors)
            let counts = try Self.ledgerCounts(ledger)
            #expect(counts.count == count)
            #expect(counts.values.allSatisfy { $0 == 1 }, "run more than once: \(counts.filter { $0.value > 1 }.keys.sorted().prefix(20))")
            let jobs = try db.queueStore.list(JobQuery(status: .completed, limit: count))
            #expect(jobs.allSatisfy { $0.attempts == 1 })
            #expect(Set(jobs.compactMap(\.workerId)).count == 3)
            for supervisor in supervisors {
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// A due cron fire happens once whichever of three supervisors gets to it (the fire's key is unique), round
        /// after round.
        @Test func cronFiresOnceWithThreeSupervisors() throws {
            let db = try PostgresTestDatabase()
            let schedule = try db.queueStore.createSchedule(
                AgentScheduleSpec(agentType: "Demo", cron: "* * * * *", method: "noop", maxConcurrent: 5),
                nextRun: Date().addingTimeInterval(-1), status: .active, lastError: nil, now: Date())
            let supervisors = try (1...3).map { n in
                try SupervisorProcess(database: db, workers: 1, arguments: ["--poll-interval", "100"], logName: "cron\(n).log")
            }
            let rounds = 4
            for round in 1...rounds {
                if round > 1 {
                    // Due again: the next minute's slot, set in the past.
                    _ = try db.queueStore.updateSchedule(
                        id: schedule.id, enabled: nil, status: nil, nextRun: .some(Date().addingTimeInterval(-0.5)), lastError: nil,
                        now: Date())
                }
                _ = try eventually("fire \(round) of the schedule", timeout: 10, context: { supervisors[0].logTail() }) { () -> Bool? in
                    let fired = supervisors.map { $0.events("schedule_fired").count }.reduce(0, +)
                    return fired >= round ? true : nil
                }
                _ = try eventually("the schedule's next run in the future", timeout: 10) { () -> Bool? in
                    (try db.queueStore.getSchedule(id: schedule.id)?.nextRun ?? .distantPast) > Date() ? true : nil
                }
            }
            // Every supervisor checks schedules ten times a second: two seconds give each many chances to fire a slot
            // twice. (A real minute boundary may add a slot of its own: count slots, not rounds.)
            func counts() throws -> (fired: Int, slots: Int, jobs: Int) {
                let fired = supervisors.map { $0.events("schedule_fired").count }.reduce(0, +)
                let slots = Int(try PostgresTestServer.psql(
                    "SELECT count(*) FROM \(db.schema)._smrt_schedule_fires WHERE schedule_id = \(schedule.id)")) ?? -1
                let jobs = try db.queueStore.list(JobQuery(limit: 100)).filter { $0.scheduleId == schedule.id }.count
                return (fired, slots, jobs)
            }
            // Watched for two seconds: a slot fired twice shows as more fires or jobs than slots. (A fire's job and slot
            // row commit together; its log line follows the commit, so fires may lag slots for a moment.)
            let deadline = Date().addingTimeInterval(2)
            var last = try counts()
            while Date() < deadline, last.fired <= last.slots, last.jobs == last.slots {
                usleep(100_000)
                last = try counts()
            }
            #expect(last.slots >= rounds)
            #expect(last.jobs == last.slots, "\(last.jobs) jobs for \(last.slots) slots")
            #expect(last.fired <= last.slots, "\(last.fired) fires logged for \(last.slots) slots")
            _ = try eventually("a fire logged for every slot", timeout: 10) { () -> Bool? in
                let now = try counts()
                return now.fired == now.slots ? true : nil
            }
        }

        /// The server restarts (fast shutdown: every connection cut) while three supervisors run jobs: they reconnect,
        /// every job completes, none runs twice, and none of them exits.
        @Test func serverRestartMidRunLosesNothing() throws {
            let server = try PrivatePostgresServer()
            defer { server.stop() }
            let db = try PostgresTestDatabase(server: server.url)
            let ledger = db.file("ledger.txt")
            let count = 1200
            try Self.appendJobs(count, ledger: ledger, into: db)
            let supervisors = try (1...3).map { n in
                try SupervisorProcess(database: db, workers: 1, logName: "restart\(n).log")
            }
            _ = try eventually("a third of the jobs done", timeout: 60) { () -> Bool? in
                try db.queueStore.stats(queue: nil).completed >= count / 3 ? true : nil
            }
            try server.restart()
            // The test's own store reconnects too: its first call after the restart may fail as unavailable.
            _ = try eventually("a connection after the restart", timeout: 30) { (try? db.queueStore.stats(queue: nil)).map { _ in true } }
            try Self.waitForCompleted(count, in: db, timeout: 120, logs: supervisors)
            let counts = try Self.ledgerCounts(ledger)
            #expect(counts.count == count)
            #expect(counts.values.allSatisfy { $0 == 1 }, "run more than once: \(counts.filter { $0.value > 1 }.keys.sorted().prefix(20))")
            for supervisor in supervisors {
                #expect(supervisor.isRunning, "\(supervisor.logTail())")
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit(timeout: 20) == .exited(0))
            }
        }

        /// While the server is down, a `kill` deadline is still a SIGKILL on time (the loop never waits for the
        /// database); the attempt's end is written once the server is back, and the supervisor never exits.
        @Test func killDeadlinesHoldWhileTheServerIsDown() throws {
            let server = try PrivatePostgresServer()
            defer { server.stop() }
            let db = try PostgresTestDatabase(server: server.url)
            let id = try db.enqueue("spin", ["pidFile": .string(db.file("spin.pid"))], timeout: 1500, behavior: .kill)
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            _ = try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(id) }
            try server.halt()
            var resumed = false
            defer { if !resumed { try? server.resume() } }
            let kill = try supervisor.waitFor("job_timeout", timeout: 10) { $0["job_id"] as? Int == Int(id) }
            let late = try #require(kill["late_ms"] as? Double)
            #expect(late >= 0 && late < 100, "killed \(late) ms late with the server down")
            try supervisor.waitForWorkers(1)
            try server.resume()
            resumed = true
            _ = try eventually("a connection after the outage", timeout: 30) { (try? db.queueStore.stats(queue: nil)).map { _ in true } }
            let job = try db.waitFor(id, .failed, timeout: 30, log: supervisor)
            #expect(job.lastError?.hasPrefix("timed out after 1500 ms") == true)
            #expect(supervisor.isRunning)
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit(timeout: 20) == .exited(0))
        }

        /// Three supervisors started at the same moment on a schema that does not exist yet: the first creates it,
        /// the tables come once (the advisory lock), and all three run jobs.
        @Test func threeSupervisorsStartedAtOnceOnAnEmptyDatabase() throws {
            let base = try PostgresTestServer.requireURL()
            let schema = "smrt_it_\(UUID().uuidString.prefix(8).lowercased())"
            defer { _ = try? PostgresTestServer.psql("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
            let url = PostgresTestServer.url(base, schema: schema)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-it-\(schema)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let supervisors = try (1...3).map { n in
                try SupervisorProcess(
                    executable: SupervisorProcess.binaryPath,
                    arguments: ["--db", url, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json"],
                    logPath: directory.appendingPathComponent("start\(n).log").path)
            }
            for supervisor in supervisors { try supervisor.waitFor("supervisor_started") }
            #expect(try PostgresTestServer.psql("SELECT count(*) FROM \(schema)._smrt_schema_version") == "1")
            for supervisor in supervisors {
                supervisor.signal(SIGTERM)
                #expect(try supervisor.waitForExit() == .exited(0))
            }
        }

        /// A transient outage is waited out (the restart test above); a fatal one is not: the database dropped under
        /// a running supervisor stops it with exit 1 and a `database_failed` line.
        @Test func aDroppedDatabaseStopsTheSupervisorWithExitOne() throws {
            let base = try PostgresTestServer.requireURL()
            let name = "smrt_drop_\(UUID().uuidString.prefix(8).lowercased())"
            try PostgresTestServer.psql("CREATE DATABASE \(name)")
            defer { _ = try? PostgresTestServer.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            // The server's URL names the database last (…/postgres): the same server, another database.
            let slash = try #require(base.lastIndex(of: "/"))
            let url = String(base[..<slash]) + "/\(name)"
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-it-\(name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let supervisor = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath,
                arguments: ["--db", url, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json",
                    "--heartbeat-interval", "500", "--db-check-interval", "500"],
                logPath: directory.appendingPathComponent("drop.log").path)
            try supervisor.waitFor("supervisor_started")
            try PostgresTestServer.psql("DROP DATABASE \(name) WITH (FORCE)")
            let failed = try supervisor.waitFor("database_failed", timeout: 20)
            #expect((failed["error"] as? String)?.isEmpty == false)
            #expect(try supervisor.waitForExit(timeout: 20) == .exited(1))
        }

        /// A supervisor whose host clock is 20 s ahead (libfaketime) beside one on time, with a 10 s lease TTL: judged
        /// on its own clock the other's lease would look expired; judged on the server's, neither takes a live lease.
        @Test(.enabled(if: FakeTime.path != nil, "faketime is not installed (Debian: apt-get install faketime)"))
        func aHostClockTwentySecondsOffTakesNoLiveLease() throws {
            let db = try PostgresTestDatabase()
            let ids = try (0..<12).map { _ in try db.enqueue("sleep", ["ms": 1500], maxAttempts: 3) }
            let ttl = ["--lease-ttl", "10000", "--heartbeat-interval", "1000"]
            let onTime = try SupervisorProcess(database: db, workers: 2, arguments: ttl, logName: "on-time.log")
            let skewed = try SupervisorProcess(
                executable: try #require(FakeTime.path),
                arguments: ["-f", "+20s", SupervisorProcess.binaryPath, "--db", db.dbArgument, "--workers", "2",
                    "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json"] + ttl,
                logPath: db.file("skewed.log"),
                // Only the wall clock is off, as on a host with a wrong time: its monotonic clock runs true.
                environment: ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" } + ["FAKETIME_DONT_FAKE_MONOTONIC=1"])
            let warning = try skewed.waitFor("clock_offset", timeout: 10)
            let offset = try #require(warning["offset_ms"] as? Int)
            #expect(offset < -19_000 && offset > -21_000, "measured \(offset) ms")
            for id in ids { try db.waitFor(id, .completed, timeout: 60, log: skewed) }
            #expect(onTime.events("lease_recovered").isEmpty, "\(onTime.logTail())")
            #expect(skewed.events("lease_recovered").isEmpty, "\(skewed.logTail())")
            #expect(onTime.events("lease_lost").isEmpty, "\(onTime.logTail())")
            #expect(skewed.events("lease_lost").isEmpty, "\(skewed.logTail())")
            let jobs = try ids.map { try db.job($0) }
            #expect(jobs.allSatisfy { $0.attempts == 1 }, "\(jobs.map(\.attempts))")
            #expect(Set(jobs.compactMap(\.workerId)).count == 2, "both supervisors ran jobs")
            // The skewed supervisor wrote its times on the server's clock: no job of it started in the future.
            let now = Date().addingTimeInterval(1)
            #expect(jobs.allSatisfy { ($0.startedAt ?? .distantFuture) < now })
        }
    }
}

/// libfaketime's wrapper, when installed.
enum FakeTime {
    static let path: String? = ["/usr/bin/faketime", "/usr/local/bin/faketime"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}
