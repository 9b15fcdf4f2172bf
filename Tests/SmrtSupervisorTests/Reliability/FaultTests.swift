import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion (through the `SupervisorProcess` spawner); returns how it ended and its stderr.
func runCommand(_ argv: [String], in db: TestDatabase, timeout: Double = 30) throws -> (ChildExit, String) {
    let process = try SupervisorProcess(
        executable: argv[0], arguments: Array(argv.dropFirst()), logPath: db.file("cmd-\(UUID().uuidString.prefix(6)).log"))
    let exit = try process.waitForExit(timeout: timeout)
    return (exit, process.logText)
}

/// `PRAGMA integrity_check` through a connection of our own.
func integrityCheck(_ path: String) throws -> String? {
    let connection = try SQLiteConnection(path: path)
    return try connection.scalarText("PRAGMA integrity_check")
}

extension IntegrationTests {
    /// Faults outside the supervisor's control: a database locked, made unwritable, removed or on a full disk; a
    /// worker that sends oversize frames; a result over the size limit. (A worker that never becomes ready and
    /// one that sends garbage are in LifecycleTests and ContainmentTests.)
    @Suite struct Faults {
        /// Another process holds the write lock until told to let go: the supervisor does not crash, a `kill`
        /// deadline that falls inside the lock is kept to the millisecond (the loop never waits for SQLite), and the
        /// work resumes once the lock is gone: the timed-out attempt is recorded and a job that came due meanwhile
        /// runs. (The deadline is 3 s after the start, so a slow python start on a loaded machine still takes the
        /// lock before it.)
        @Test func databaseLockedForSecondsHoldsDeadlinesAndWorkResumes() throws {
            let db = try TestDatabase()
            let spin = try db.enqueue("spin", timeout: 3000, behavior: .kill)
            let later = try db.store.enqueue(
                JobSpec(objectType: "Demo", method: "noop", runAt: Date().addingTimeInterval(3.5)), now: Date()
            ).id
            let supervisor = try SupervisorProcess(database: db, workers: 2, arguments: ["--busy-timeout", "100"])
            try supervisor.waitFor("job_started") { $0["job_id"] as? Int == Int(spin) }

            let lockedMarker = db.file("locked"), releaseMarker = db.file("release")
            let holder = try SupervisorProcess(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    """
                    import os, sqlite3, sys, time
                    c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
                    c.execute("BEGIN EXCLUSIVE")
                    open(sys.argv[2], "w").close()
                    deadline = time.monotonic() + 30
                    while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
                        time.sleep(0.02)
                    c.execute("COMMIT")
                    """,
                    db.path, lockedMarker, releaseMarker,
                ],
                logPath: db.file("holder.log"))
            defer { FileManager.default.createFile(atPath: releaseMarker, contents: nil) }
            _ = try eventually("the other process to hold the lock", timeout: 10, context: { holder.logText }) {
                FileManager.default.fileExists(atPath: lockedMarker) ? true : nil
            }
            #expect(supervisor.events("job_timeout").isEmpty, "the deadline passed before the lock was taken")
            // The deadline comes while the lock is held, and is kept.
            let timeout = try supervisor.waitFor("job_timeout", timeout: 10) { $0["job_id"] as? Int == Int(spin) }
            let late = try #require(timeout["late_ms"] as? Double)
            #expect(late < 50, "SIGKILL \(late) ms after the deadline while the database was locked")
            try supervisor.waitFor("database_busy", timeout: 10)
            #expect(try db.job(spin).status == .running, "nothing can be recorded while the lock is held")
            FileManager.default.createFile(atPath: releaseMarker, contents: nil)

            #expect(try holder.waitForExit(timeout: 10) == .exited(0))
            let failed = try db.waitFor(spin, .failed, log: supervisor)
            #expect(failed.lastError?.hasPrefix("timed out after 3000 ms; worker") == true)
            try db.waitFor(later, .completed, log: supervisor)
            #expect(supervisor.events("database_failed").isEmpty)
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        /// The database file made unwritable under a running supervisor (`chattr +i`: writes through descriptors
        /// already open fail too; `chmod` would not stop an open descriptor, nor root at all). The next write
        /// fails with an I/O error: the supervisor logs `database_failed`, exits 1 with the cause on stderr, and
        /// the file is intact.
        @Test func unwritableDatabaseStopsTheSupervisorWithAClearError() throws {
            let db = try TestDatabase()
            let done = try db.enqueue("noop")
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, arguments: ["--heartbeat-interval", "100"])
            try db.waitFor(done, .completed, log: supervisor)
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chattr") else {
                try Test.cancel("/usr/bin/chattr is not installed (e2fsprogs)")
            }
            let files = [db.path, db.path + "-wal"]
            defer { _ = try? runCommand(["/usr/bin/chattr", "-i"] + files, in: db) }
            let (chattr, output) = try runCommand(["/usr/bin/chattr", "+i"] + files, in: db)
            if chattr != .exited(0) {
                try Test.cancel("chattr +i is not supported here (\(output.trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
            #expect(try supervisor.waitForExit(timeout: 10) == .exited(1))
            let failure = try #require(supervisor.events("database_failed").first)
            #expect((failure["error"] as? String)?.contains("disk I/O error") == true, "\(failure)")
            #expect(supervisor.logText.contains("smrt-supervisor: database \(db.path) cannot be used: "))
            _ = try runCommand(["/usr/bin/chattr", "-i"] + files, in: db)
            #expect(try integrityCheck(db.path) == "ok")
            #expect(try db.job(done).status == .completed)
        }

        /// A database its user cannot write, at start: exit 1 with the permission error (a supervisor run as
        /// nobody on a root-owned 0600 file; root itself ignores file permissions).
        @Test func unwritableDatabaseAtStartIsAClearError() throws {
            guard geteuid() == 0 else { try Test.cancel("needs root to start the supervisor as another user") }
            let db = try TestDatabase()
            chmod(db.directory.path, 0o755)
            let supervisor = try SupervisorProcess(
                executable: "/usr/bin/setpriv",
                arguments: [
                    "--reuid=nobody", "--regid=nogroup", "--clear-groups", SupervisorProcess.binaryPath, "--db", db.path,
                    "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath,
                ],
                logPath: db.file("nobody.log"))
            #expect(try supervisor.waitForExit() == .exited(1))
            #expect(supervisor.logText.contains("smrt-supervisor: cannot open database \(db.path)"), "\(supervisor.logText)")
            #expect(supervisor.logText.contains("Permission denied"), "\(supervisor.logText)")
        }

        /// The database file removed while the supervisor runs: SQLite would go on writing to the unlinked inode
        /// (invisible to every other process, gone at exit), so the supervisor notices (a stat of the path every
        /// `--db-check-interval` ms), logs `database_failed` and exits 1. What it wrote is intact.
        @Test func removedDatabaseFileStopsTheSupervisor() throws {
            let db = try TestDatabase()
            let done = try db.enqueue("noop")
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, arguments: ["--db-check-interval", "100"])
            try db.waitFor(done, .completed, log: supervisor)
            #expect(unlink(db.path) == 0)
            #expect(try supervisor.waitForExit(timeout: 5) == .exited(1))
            let failure = try #require(supervisor.events("database_failed").first)
            #expect(failure["error"] as? String == "the file was removed while the supervisor was running")
            // Our own connection still has the removed file open: nothing in it is damaged.
            #expect(try db.store.withConnection { try $0.scalarText("PRAGMA integrity_check") } == "ok")
            #expect(try db.job(done).status == .completed)
            #expect(try db.store.stats(queue: nil).running == 0)
        }

        /// The database's `-wal` and `-shm` files removed while the supervisor runs (together, or the WAL alone): its
        /// connections keep the unlinked files, while every new connection starts a new, empty WAL (losing what
        /// the old one held) or fails with an I/O error. The supervisor notices like a removed database (exit 1,
        /// the file named) instead of running on where nobody sees its work.
        @Test(arguments: [["-wal", "-shm"], ["-wal"], ["-shm"]])
        func removedSideFilesStopTheSupervisor(_ suffixes: [String]) throws {
            let db = try TestDatabase()
            let done = try db.enqueue("noop")
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, arguments: ["--db-check-interval", "100"])
            try db.waitFor(done, .completed, log: supervisor)
            for suffix in suffixes { #expect(unlink(db.path + suffix) == 0, "\(suffix): errno \(errno)") }
            #expect(try supervisor.waitForExit(timeout: 5) == .exited(1))
            let failure = try #require(supervisor.events("database_failed").first)
            let first = suffixes[0]
            #expect(
                failure["error"] as? String == "its \(first) file was removed while the supervisor was running",
                "\(failure)")
        }

        /// A full disk (a 1 MiB tmpfs): SQLITE_FULL is not retried; the supervisor logs `database_failed` with
        /// "database or disk is full" and exits 1. The database stays intact, and a supervisor started once there is
        /// room again finishes the work.
        @Test func fullDiskStopsTheSupervisorWithAClearError() throws {
            let db = try TestDatabase()
            let mountPoint = db.file("tmpfs")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            let (mount, mountOutput) = try runCommand(
                ["/bin/mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", mountPoint], in: db)
            if mount != .exited(0) {
                try Test.cancel("mount -t tmpfs is not permitted here (\(mountOutput.trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
            defer { _ = try? runCommand(["/bin/umount", "-l", mountPoint], in: db) }
            let path = mountPoint + "/jobs.sqlite"
            let ids: [Int64] = try {
                let store = try SQLiteJobStore(path: path)
                return try store.enqueue(
                    batch: (0..<20).map { _ in JobSpec(objectType: "Demo", method: "sleep", args: ["ms": 100]) }, now: Date())
            }()
            let supervisor = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath,
                arguments: [
                    "--db", path, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json",
                    "--heartbeat-interval", "50",
                ],
                logPath: db.file("full.log"))
            try supervisor.waitFor("job_started")
            // Fill what is left of the file system.
            let filler = mountPoint + "/filler"
            let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
            let chunk = [UInt8](repeating: 0xAB, count: 4096)
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
            close(fd)
            #expect(try supervisor.waitForExit(timeout: 20) == .exited(1))
            let failure = try #require(supervisor.events("database_failed").first)
            #expect((failure["error"] as? String)?.contains("database or disk is full") == true, "\(failure)")
            #expect(supervisor.logText.contains("smrt-supervisor: database \(path) cannot be used: "))

            unlink(filler)
            #expect(try integrityCheck(path) == "ok")
            let again = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath,
                arguments: ["--db", path, "--workers", "2", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format", "json"],
                logPath: db.file("again.log"))
            let store = try SQLiteJobStore(path: path)
            _ = try eventually("every job completed after the disk has room", timeout: 20, context: { again.logTail() }) {
                () -> Bool? in try store.stats(queue: nil).completed == ids.count ? true : nil
            }
            again.signal(SIGTERM)
            #expect(try again.waitForExit() == .exited(0))
        }

        /// A worker that announces a frame far over the 4 MiB limit (and starts sending it) during a job: a protocol
        /// error naming the size, that worker killed, the job failed with the error, a replacement started.
        @Test func oversizeFrameFromAWorkerIsContained() throws {
            let db = try TestDatabase()
            let script = db.file("oversize_worker.py")
            try """
                import os, struct, time
                os.write(3, struct.pack(">IBHII", 11, 1, 1, os.getpid(), 0))
                os.read(3, 65536)
                body = b"\\x04" + b"x" * (5 << 20)
                os.write(3, struct.pack(">I", len(body)) + body)
                time.sleep(30)
                """.write(toFile: script, atomically: true, encoding: .utf8)
            let id = try db.enqueue("echo", ["a": 1])
            let supervisor = try SupervisorProcess(database: db, workers: 1, workerExec: "python3 \(script)")
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.lastError?.hasPrefix("protocol error: frame of 5242881 bytes exceeds the limit of 4194304 bytes") == true,
                "\(job.lastError ?? "nil")")
            try supervisor.waitFor("protocol_error") { $0["job_id"] as? Int == Int(id) }
            try supervisor.waitFor("worker_ready", count: 2)
            #expect(supervisor.isRunning)
        }

        /// A result over the registry's limit (lowered to 1000 bytes with SMRT_MAX_RESULT_BYTES; default 1 MiB)
        /// fails the job at once (not retried: it would be as large next time) with the sizes named.
        @Test func resultOverTheSizeLimitFailsTheJob() throws {
            let db = try TestDatabase()
            let id = try db.enqueue("echo", ["blob": .string(String(repeating: "x", count: 2000))], maxAttempts: 3)
            let supervisor = try SupervisorProcess(
                database: db, workers: 1, workerExec: "env SMRT_MAX_RESULT_BYTES=1000 \(WorkerHarness.demoWorkerPath)")
            let job = try db.waitFor(id, .failed, log: supervisor)
            #expect(job.lastError == "Result too large: 2011 bytes exceeds the limit of 1000 bytes")
            #expect(job.attempts == 1)
            #expect(job.result == nil)
        }
    }
}
