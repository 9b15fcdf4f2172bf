import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Safety limits: only registered code runs; rlimits on workers with the cause named; workers as another user;
    /// the database file's mode; secrets kept out of logs and stored errors.
    @Suite struct SafetyLimits {
        /// A row names a type and a method, never a command: a job whose type looks like a program fails at once
        /// (not retried) with "Unknown object type", and nothing runs.
        @Test func onlyRegisteredTypesAndMethodsRun() throws {
            let db = try TestDatabase()
            let marker = db.file("pwned")
            let program = try db.enqueue("-c", ["script": .string("touch \(marker)")], type: "/bin/sh", maxAttempts: 3)
            let method = try db.enqueue("system", ["command": .string("touch \(marker)")], maxAttempts: 3)
            let supervisor = try SupervisorProcess(database: db, workers: 1)
            let unknownType = try db.waitFor(program, .failed, log: supervisor)
            #expect(unknownType.lastError == "Unknown object type: /bin/sh")
            #expect(unknownType.attempts == 1)
            let unknownMethod = try db.waitFor(method, .failed, log: supervisor)
            #expect(unknownMethod.lastError == "Method not found: Demo.system")
            #expect(unknownMethod.attempts == 1)
            #expect(!FileManager.default.fileExists(atPath: marker))
        }

        /// `--worker-cpu-limit 1`: a job that spins is killed by the kernel (SIGXCPU at the soft limit) and the
        /// attempt's error names the limit. The limit is per job: it is re-armed before each RUN.
        @Test func cpuLimitStopsASpinningJobWithTheCauseNamed() throws {
            let db = try TestDatabase()
            let first = try db.enqueue("noop")
            let spin = try db.enqueue("spin", timeout: 30_000)
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--worker-cpu-limit", "1"])
            try db.waitFor(first, .completed, log: supervisor)
            let job = try db.waitFor(spin, .failed, timeout: 15, log: supervisor)
            let error = try #require(job.lastError)
            #expect(error.hasSuffix("killed by signal 24 (SIGXCPU): CPU limit of 1 s exceeded"), "\(error)")
            let started = try #require(supervisor.events("job_started") { $0["job_id"] as? Int == Int(spin) }.first)
            let spun = try supervisor.waitFor("job_failed") { $0["job_id"] as? Int == Int(spin) }
            let seconds = (spun["duration_ms"] as? Double ?? 0) / 1000
            #expect(seconds >= 0.9 && seconds < 8, "killed after \(seconds) s (started \(started["ts"] ?? "?"))")
        }

        /// `--worker-memory-limit 400` (RLIMIT_AS; a Swift worker maps ~200 MB before its first job): a job that
        /// stays under it runs; one that allocates 1 GiB kills its worker, and the error says the memory limit was
        /// probably the cause (an allocation failure crashes the Swift runtime, so the signal alone cannot prove it).
        @Test func memoryLimitFailsAnAllocatingJobWithTheCauseNamed() throws {
            let db = try TestDatabase()
            let small = try db.enqueue("allocate", ["mb": 32])
            let big = try db.enqueue("allocate", ["mb": 1024])
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--worker-memory-limit", "400"])
            try db.waitFor(small, .completed, log: supervisor)
            let job = try db.waitFor(big, .failed, timeout: 15, log: supervisor)
            let error = try #require(job.lastError)
            #expect(error.contains("(possibly over the memory limit of 400 MB)"), "\(error)")
            try supervisor.waitFor("worker_ready", count: 2)
        }

        /// `--user nobody` with the supervisor as root: the worker (and so every job) runs as nobody, with
        /// nobody's group and no supplementary groups.
        @Test func workersRunAsTheGivenUser() throws {
            guard geteuid() == 0 else { try Test.cancel("--user needs root; the tests run as uid \(geteuid())") }
            let db = try TestDatabase()
            // The worker binary where nobody can reach it (the build folder may be under a private directory).
            chmod(db.directory.path, 0o755)
            let worker = db.file("smrt-demo-worker")
            try FileManager.default.copyItem(atPath: WorkerHarness.demoWorkerPath, toPath: worker)
            let id = try db.enqueue("identity")
            let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: worker, arguments: ["--user", "nobody"])
            let job = try db.waitFor(id, .completed, log: supervisor)
            let nobody = try #require(getpwnam("nobody")).pointee
            #expect(job.result?["uid"]?.intValue == Int64(nobody.pw_uid))
            #expect(job.result?["gid"]?.intValue == Int64(nobody.pw_gid))
            let pid = try #require(job.result?["pid"]?.intValue)
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let groups = status.split(separator: "\n").first { $0.hasPrefix("Groups:") }?.dropFirst(7)
            #expect(groups?.trimmingCharacters(in: .whitespaces) == "", "supplementary groups kept: \(groups ?? "?")")
            // The supervisor itself stays root and keeps the database private.
            var info = stat()
            #expect(stat(db.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        }

        @Test func unknownUserIsABadFlag() throws {
            let db = try TestDatabase()
            let supervisor = try SupervisorProcess(database: db, arguments: ["--user", "no-such-user-here"])
            #expect(try supervisor.waitForExit() == .exited(2))
            #expect(supervisor.logText.contains("invalid --user: no such user 'no-such-user-here'"))
        }

        /// The database and its WAL are created 0600 (see also SQLiteJobStoreTests); `--db-mode 0640` when a
        /// group must read it. The mode is exact, whatever the umask, and an existing file keeps its own.
        @Test func databaseModeIsConfigurable() throws {
            let db = try TestDatabase()
            let path = db.file("shared.sqlite")
            let supervisor = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath,
                arguments: [
                    "--db", path, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json",
                    "--db-mode", "0640",
                ],
                logPath: db.file("mode.log"))
            try supervisor.waitFor("supervisor_started")
            try supervisor.waitForWorkers(1)
            for file in [path, path + "-wal", path + "-shm"] {
                var info = stat()
                #expect(stat(file, &info) == 0, "\(file) missing")
                #expect(info.st_mode & 0o777 == 0o640, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
            }
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
            let bad = try SupervisorProcess(database: db, arguments: ["--db-mode", "888"])
            #expect(try bad.waitForExit() == .exited(2))
            #expect(bad.logText.contains("--db-mode must be octal permission bits"))
        }

        /// Values under secret-looking keys never reach the log or `last_error`: job args in `--debug` lines, a
        /// job's error text (`password=...`), and lines the job prints.
        @Test func secretsAreRedactedFromLogsAndStoredErrors() throws {
            let db = try TestDatabase()
            let failing = try db.enqueue(
                "fail", ["message": "login failed: password=hunter2 token: tok-123", "api_key": "key-456"])
            let printing = try db.enqueue("print", ["text": #"connecting with {"Authorization": "Bearer sek-789"}"#])
            let supervisor = try SupervisorProcess(database: db, workers: 1, arguments: ["--debug"])
            let job = try db.waitFor(failing, .failed, log: supervisor)
            #expect(job.lastError == "login failed: password=[REDACTED] token: [REDACTED]")
            try db.waitFor(printing, .completed, log: supervisor)
            try supervisor.waitFor("worker_output", count: 2)
            let started = try #require(supervisor.events("job_started") { $0["job_id"] as? Int == Int(failing) }.first)
            #expect((started["args"] as? String)?.contains(#""api_key":"[REDACTED]""#) == true, "\(started)")
            let log = supervisor.logText
            for secret in ["hunter2", "tok-123", "key-456", "sek-789"] {
                #expect(!log.contains(secret), "\(secret) in the log")
            }
            #expect(log.contains(#"Bearer [REDACTED]"#) || log.contains(#"\"[REDACTED]\""#))
        }
    }
}
