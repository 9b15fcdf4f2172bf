import CSQLite
import Foundation
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// What only the SQLite store promises: file handling, pragmas, schema, plans, locking across connections.
@Suite("SQLite job store")
struct SQLiteJobStoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var t0: Date { Self.t0 }

    func withDatabase(_ body: (_ path: String) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "smrt-sqlite-test")
        defer { directory.remove() }
        try body(directory.path("jobs.sqlite"))
    }

    func tableNames(_ store: SQLiteJobStore) throws -> [String] {
        try store.withConnection { c in
            try c.withStatement("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name") { s in
                var names: [String] = []
                while try s.step() { names.append(s.string(0) ?? "") }
                return names
            }
        }
    }

    @Test func schemaIsCreatedOnceAndReopenedUnchanged() throws {
        try withDatabase { path in
            let first = try SQLiteJobStore(path: path)
            let job = try first.enqueue(JobSpec(objectType: "Doc", method: "run"), now: t0)
            let names = try tableNames(first)
            for expected in [
                "_smrt_jobs", "_smrt_workers", "_smrt_agent_schedules", "_smrt_schedule_fires", "_smrt_jobs_claim",
                "_smrt_jobs_claim_any", "_smrt_jobs_running_worker", "_smrt_jobs_finished", "_smrt_jobs_failed",
                "_smrt_jobs_cancelled",
            ] {
                #expect(names.contains(expected), "missing \(expected)")
            }
            #expect(try first.schemaVersion() == SQLiteSchema.currentVersion)
            let second = try SQLiteJobStore(path: path)
            let third = try SQLiteJobStore(path: path)
            #expect(try tableNames(second) == names)
            #expect(try third.schemaVersion() == SQLiteSchema.currentVersion)
            #expect(try third.get(id: job.id) == job)
        }
    }

    /// A file of the first release (schema 1, lease rows without an expiry) is migrated in place: its rows stay,
    /// and are judged by their heartbeat until their owner renews them with an expiry.
    @Test func aVersionOneFileIsMigrated() throws {
        try withDatabase { path in
            let old = try SQLiteConnection(path: path)
            try old.exec(SQLiteSchema.version1)
            try old.exec("PRAGMA user_version = 1")
            try old.exec(
                "INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat) VALUES "
                    + "('old', 1, 'h', '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z')")
            let store = try SQLiteJobStore(path: path)
            #expect(try store.schemaVersion() == SQLiteSchema.currentVersion)
            #expect(try store.listWorkers().map(\.id) == ["old"])
            #expect(try store.listWorkers().first?.expiresAt == nil)
            try store.heartbeatWorker(id: "old", now: t0, expiresAt: t0 + 30)
            #expect(try store.listWorkers().first?.expiresAt == t0 + 30)
        }
    }

    /// A file of schema 3 (before the operator surface) gains the progress, worker pid and exit, and stats columns
    /// and the failed and cancelled indexes; its jobs and leases stay, with none of the new values.
    @Test func aVersionThreeFileIsMigrated() throws {
        try withDatabase { path in
            let old = try SQLiteConnection(path: path)
            for step in SQLiteSchema.migrations.prefix(3) { try old.exec(step) }
            try old.exec("PRAGMA user_version = 3")
            try old.exec(
                """
                INSERT INTO _smrt_jobs (queue, object_type, method, run_at, status, attempts, last_error, completed_at, \
                created_at, updated_at, worker_id) VALUES ('mail', 'Mailer', 'send', '2027-01-15T08:00:00.000Z', 'failed', 3, \
                'smtp down', '2027-01-15T08:00:05.000Z', '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:05.000Z', 'sup-1');
                INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat, expires_at) VALUES \
                ('sup-1', 7, 'h', '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:30.000Z');
                """)
            let store = try SQLiteJobStore(path: path)
            #expect(try store.schemaVersion() == SQLiteSchema.currentVersion)
            let job = try #require(try store.get(id: 1))
            #expect(job.status == .failed && job.lastError == "smtp down" && job.workerId == "sup-1")
            #expect(job.progress == nil && job.workerPid == nil && job.workerExit == nil)
            #expect(try store.listWorkers().map(\.id) == ["sup-1"] && store.listWorkers().first?.stats == nil)
            #expect(try tableNames(store).contains("_smrt_jobs_failed"))
            // The new index holds the old failed row.
            #expect(try store.jobPage(JobPageQuery(statuses: [.failed])).jobs.map(\.id) == [1])
            let retried = try store.retry(id: 1, now: t0)
            #expect(retried.status == .pending && retried.lastError == nil)
        }
    }

    /// SQL of the file's tables and indexes, by name.
    func schemaSQL(_ connection: SQLiteConnection) throws -> [String: String] {
        try connection.withStatement("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL") { s in
            var sql: [String: String] = [:]
            while try s.step() { sql[s.string(0) ?? ""] = s.string(1) ?? "" }
            return sql
        }
    }

    /// How many ephemeral tables SQLite's program for `sql` opens (`EXPLAIN`).
    func ephemeralTables(_ connection: SQLiteConnection, _ sql: String) throws -> Int {
        try connection.withStatement("EXPLAIN " + sql) { s in
            var count = 0
            while try s.step() {
                if s.string(1) == "OpenEphemeral" { count += 1 }
            }
            return count
        }
    }

    /// A file of schema 4 with rows of every kind goes to schema 5 (CHECKs without IN lists): in place when its tables
    /// are as this library wrote them, else by rebuilding the two tables (here: one CHECK written with another
    /// spacing). Either way every row and value stays, ids and the AUTOINCREMENT counters carry on (also past deleted
    /// rows), every index is there and used, and every constraint still refuses what it refused.
    @Test(arguments: [true, false])
    func aVersionFourFileIsMigratedWithItsRowsAndConstraints(asThisLibraryWroteIt: Bool) throws {
        try withDatabase { path in
            let old = try SQLiteConnection(path: path)
            for (step, sql) in SQLiteSchema.migrations.prefix(4).enumerated() {
                let respaced = sql.replacingOccurrences(of: "CHECK (timeout_behavior IN", with: "CHECK (timeout_behavior  IN")
                try old.exec(step == 0 && !asThisLibraryWroteIt ? respaced : sql)
            }
            try old.exec("PRAGMA user_version = 4")
            let before = try schemaSQL(old)
            let rootPage = try old.scalarInt("SELECT rootpage FROM sqlite_master WHERE name = '_smrt_jobs'")
            #expect(try ephemeralTables(old, "INSERT INTO _smrt_jobs (object_type, method, run_at, created_at, updated_at) VALUES ('A', 'm', 'r', 'c', 'u')") == 3)
            // Rows written by the store of version 4 would be the same; raw SQL keeps the file at version 4.
            try old.exec(
                """
                INSERT INTO _smrt_jobs (queue, object_type, method, args, run_at, priority, status, attempts, max_attempts, \
                timeout, timeout_behavior, started_at, completed_at, last_error, result, worker_id, worker_heartbeat, \
                created_at, updated_at, unique_key, progress, worker_pid, worker_exit) VALUES
                ('default', 'Doc', 'run', '{"n":1}', '2027-01-15T08:00:00.000Z', 50, 'pending', 0, 3, 300000, 'fail', NULL, NULL, \
                 NULL, NULL, NULL, NULL, '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z', 'key-1', NULL, NULL, NULL),
                ('mail', 'Mailer', 'send', '{}', '2027-01-15T08:00:00.000Z', 75, 'running', 1, 5, 1500, 'kill', \
                 '2027-01-15T08:00:01.000Z', NULL, NULL, NULL, 'sup-1', '2027-01-15T08:00:02.000Z', '2027-01-15T08:00:00.000Z', \
                 '2027-01-15T08:00:01.000Z', NULL, '{"fraction":0.5}', NULL, NULL),
                ('default', 'Doc', 'run', '{}', '2027-01-15T08:00:00.000Z', 50, 'completed', 1, 3, 300000, 'warn', \
                 '2027-01-15T08:00:01.000Z', '2027-01-15T08:00:03.000Z', NULL, '{"ok":true}', 'sup-1', NULL, \
                 '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:03.000Z', 'key-2', NULL, 4242, 'returned a result'),
                ('default', 'Doc', 'run', '{}', '2027-01-15T08:00:00.000Z', 50, 'failed', 3, 3, 300000, 'fail', \
                 '2027-01-15T08:00:01.000Z', '2027-01-15T08:00:04.000Z', 'boom', NULL, 'sup-1', NULL, \
                 '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:04.000Z', NULL, NULL, 4243, 'exit code 3'),
                ('default', 'Doc', 'run', '{}', '2027-01-15T08:00:00.000Z', 50, 'cancelled', 0, 3, 300000, 'fail', \
                 NULL, '2027-01-15T08:00:05.000Z', NULL, NULL, NULL, NULL, '2027-01-15T08:00:00.000Z', \
                 '2027-01-15T08:00:05.000Z', NULL, NULL, NULL, NULL),
                ('default', 'Doc', 'run', '{}', '2027-01-15T08:00:00.000Z', 50, 'pending', 0, 3, 300000, 'fail', NULL, NULL, \
                 NULL, NULL, NULL, NULL, '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z', NULL, NULL, NULL, NULL);
                DELETE FROM _smrt_jobs WHERE id = 6;
                INSERT INTO _smrt_agent_schedules (agent_type, cron, status, last_status, run_count, created_at, updated_at) \
                VALUES ('Report', '0 * * * *', 'active', 'success', 4, '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z'),
                ('Old', '0 0 * * *', 'paused', NULL, 0, '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z');
                DELETE FROM _smrt_agent_schedules WHERE id = 2;
                INSERT INTO _smrt_schedule_fires (schedule_id, slot, job_id, fired_at) \
                VALUES (1, '2027-01-15T08:00:00.000Z', 1, '2027-01-15T08:00:00.000Z');
                INSERT INTO _smrt_workers (id, pid, host, started_at, heartbeat, expires_at) VALUES \
                ('sup-1', 7, 'h', '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:30.000Z');
                """)
            func dump(_ connection: SQLiteConnection, _ table: String) throws -> [[String?]] {
                let columns = Int32(try connection.scalarInt("SELECT count(*) FROM pragma_table_info('\(table)')") ?? 0)
                return try connection.withStatement("SELECT * FROM \(table) ORDER BY 1") { s in
                    var rows: [[String?]] = []
                    while try s.step() { rows.append((0..<columns).map { s.isNull($0) ? nil : s.string($0) }) }
                    return rows
                }
            }
            let tables = ["_smrt_jobs", "_smrt_agent_schedules", "_smrt_schedule_fires", "_smrt_workers", "sqlite_sequence"]
            let rowsBefore = try tables.map { try dump(old, $0) }

            let store = try SQLiteJobStore(path: path)
            #expect(try store.schemaVersion() == 5)
            try store.withConnection { c in
                #expect(try tables.map { try dump(c, $0) } == rowsBefore, "every row and value, and the counters, as they were")
                let after = try schemaSQL(c)
                #expect(Set(after.keys) == Set(before.keys), "the same tables and indexes")
                for (name, sql) in after where name.hasPrefix("_smrt_jobs_") || name == "_smrt_agent_schedules_due" {
                    #expect(sql == before[name], "index \(name) as it was")
                }
                for table in ["_smrt_jobs", "_smrt_agent_schedules"] {
                    #expect(after[table]?.contains(" IN (") == false, "\(after[table] ?? "")")
                }
                #expect(try c.scalarText("PRAGMA integrity_check") == "ok")
                let rootPageAfter = try c.scalarInt("SELECT rootpage FROM sqlite_master WHERE name = '_smrt_jobs'")
                #expect((rootPageAfter == rootPage) == asThisLibraryWroteIt, "in place, or rebuilt")
                #expect(try ephemeralTables(c, "INSERT INTO _smrt_jobs (object_type, method, run_at, created_at, updated_at) VALUES ('A', 'm', 'r', 'c', 'u')") == 0)
                #expect(try ephemeralTables(c, "UPDATE _smrt_jobs SET status = 'completed', completed_at = 'x' WHERE id = 1 AND status = 'running'") == 0)
                // Every CHECK refuses what it refused.
                for bad in [
                    "UPDATE _smrt_jobs SET status = 'exploded' WHERE id = 1",
                    "UPDATE _smrt_jobs SET timeout_behavior = 'shrug' WHERE id = 1",
                    "UPDATE _smrt_jobs SET completed_at = '2027-01-15T09:00:00.000Z' WHERE id = 1",
                    "UPDATE _smrt_jobs SET status = 'failed' WHERE id = 1",
                    "UPDATE _smrt_jobs SET completed_at = NULL WHERE id = 3",
                    "UPDATE _smrt_agent_schedules SET status = 'sleeping' WHERE id = 1",
                    "UPDATE _smrt_agent_schedules SET last_status = 'meh' WHERE id = 1",
                    "INSERT INTO _smrt_jobs (object_type, method, run_at, created_at, updated_at, unique_key) VALUES ('A', 'm', 'r', 'c', 'u', 'key-1')",
                ] {
                    do {
                        try c.exec(bad)
                        Issue.record("accepted: \(bad)")
                    } catch SmrtJobsError.database(let kind, _) {
                        #expect(kind == .badInput, "\(bad)")
                    }
                }
            }
            // The store works on the migrated rows; new ids come after every id ever given.
            #expect(try store.get(id: 2).map { $0.status == .running && $0.workerId == "sup-1" && $0.attempts == 1 } == true)
            #expect(try store.jobPage(JobPageQuery(statuses: [.failed])).jobs.map(\.id) == [4])
            #expect(try store.claim(workerId: "w", limit: 5, queues: nil, now: t0).map(\.id) == [1])
            #expect(try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: t0).id == 7)
            #expect(try store.enqueueReportingExisting(JobSpec(objectType: "Doc", method: "run", uniqueKey: "key-1"), now: t0).existing)
            let schedule = try store.createSchedule(
                AgentScheduleSpec(agentType: "New", cron: "0 * * * *"), nextRun: nil, status: .active, lastError: nil, now: t0)
            #expect(schedule.id == 3)
        }
    }

    @Test func manyConnectionsOpeningANewFileAtOnce() throws {
        for round in 0..<5 {
            try withDatabase { path in
                let openers = 6
                let results = ResultBox<Int64>(count: openers)
                let start = DispatchSemaphore(value: 0)
                let group = DispatchGroup()
                for i in 0..<openers {
                    group.enter()
                    Thread {
                        start.wait()
                        results.set(i, Result { try SQLiteJobStore(path: path).schemaVersion() })
                        group.leave()
                    }.start()
                }
                for _ in 0..<openers { start.signal() }
                #expect(group.wait(timeout: .now() + 30) == .success, "round \(round): openers did not finish")
                for result in results.values {
                    #expect(try result?.get() == SQLiteSchema.currentVersion)
                }
                let store = try SQLiteJobStore(path: path)
                #expect(try store.list(JobQuery()).isEmpty)
            }
        }
    }

    @Test func refusesANewerSchema() throws {
        try withDatabase { path in
            _ = try SQLiteJobStore(path: path)
            try SQLiteConnection(path: path).exec("PRAGMA user_version = 99")
            #expect(throws: SmrtJobsError.self) { try SQLiteJobStore(path: path) }
        }
    }

    @Test func pragmasAreInEffect() throws {
        try withDatabase { path in
            let normal = try SQLiteJobStore(path: path)
            try normal.withConnection { c throws in
                #expect(try c.scalarText("PRAGMA journal_mode") == "wal")
                #expect(try c.scalarInt("PRAGMA synchronous") == 1)
                #expect(try c.scalarInt("PRAGMA busy_timeout") == 5000)
            }
            let full = try SQLiteJobStore(path: path, options: .init(busyTimeoutMs: 1234, synchronous: .full))
            try full.withConnection { c throws in
                #expect(try c.scalarText("PRAGMA journal_mode") == "wal")
                #expect(try c.scalarInt("PRAGMA synchronous") == 2)
                #expect(try c.scalarInt("PRAGMA busy_timeout") == 1234)
            }
        }
    }

    @Test func filesArePrivate() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: t0)
            for file in [path, path + "-wal", path + "-shm"] {
                var info = stat()
                #expect(stat(file, &info) == 0, "\(file) missing")
                #expect(info.st_mode & 0o777 == 0o600, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
            }
        }
    }

    @Test func terminalJobsKeepTheirWorkerForForensics() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            let ids = try store.enqueue(batch: [JobSpec(objectType: "A", method: "m"), JobSpec(objectType: "B", method: "m")], now: t0)
            _ = try store.claim(workerId: "w7", limit: 2, queues: nil, now: t0)
            _ = try store.complete(id: ids[0], workerId: "w7", now: t0)
            _ = try store.fail(id: ids[1], workerId: "w7", error: "e", retryAt: nil, now: t0)
            #expect(try store.get(id: ids[0])?.workerId == "w7")
            #expect(try store.get(id: ids[1])?.workerId == "w7")
        }
    }

    @Test func failEnforcesMaxAttemptsWhateverRetryAtSays() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            let job = try store.enqueue(JobSpec(objectType: "A", method: "m", maxAttempts: 1), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            let recovered = try store.recoverJobs(ofDeadOwner: "w", leaseAsJudged: .noRow, reason: "died", now: t0) { _ in t0 + 1 }
            #expect(recovered?.map(\.result) == [.failed])
            #expect(try store.get(id: job.id)?.status == .failed)
        }
    }

    @Test func rejectsCorruptValuesThroughCheckConstraints() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            let job = try store.enqueue(JobSpec(objectType: "A", method: "m"), now: t0)
            try store.withConnection { c in
                #expect(throws: SmrtJobsError.self) {
                    try c.run("UPDATE _smrt_jobs SET status = 'exploded' WHERE id = ?1") { s in try s.bind(job.id, 1) }
                }
                do {
                    try c.run("UPDATE _smrt_jobs SET timeout_behavior = 'shrug' WHERE id = ?1") { s in try s.bind(job.id, 1) }
                    Issue.record("CHECK on timeout_behavior did not fire")
                } catch SmrtJobsError.database(let kind, let message) {
                    #expect(kind == .badInput)
                    #expect(message.contains("CHECK"))
                }
            }
        }
    }

    @Test func completedAtIsSetExactlyForTerminalJobs() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            let job = try store.enqueue(JobSpec(objectType: "A", method: "m"), now: t0)
            try store.withConnection { c in
                #expect(throws: SmrtJobsError.self) {
                    try c.run("UPDATE _smrt_jobs SET completed_at = ?1 WHERE id = ?2") { s in
                        try s.bind(t0, 1)
                        try s.bind(job.id, 2)
                    }
                }
                #expect(throws: SmrtJobsError.self) {
                    try c.run("UPDATE _smrt_jobs SET status = 'failed' WHERE id = ?1") { s in try s.bind(job.id, 1) }
                }
            }
        }
    }

    // MARK: Plans

    func plan(_ store: SQLiteJobStore, _ sql: String) throws -> [String] {
        try store.withConnection { c in
            try c.withStatement("EXPLAIN QUERY PLAN " + sql) { s in
                var details: [String] = []
                while try s.step() { details.append(s.string(3) ?? "") }
                return details
            }
        }
    }

    @Test func claimWalksThePendingOnlyIndexWithoutSorting() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            // Enough rows, mostly finished, that a bad plan would show.
            var specs: [JobSpec] = []
            for i in 0..<3000 {
                specs.append(JobSpec(objectType: "Doc", method: "run", queue: i % 3 == 0 ? "mail" : "default", priority: 25 * (i % 4)))
            }
            _ = try store.enqueue(batch: specs, now: t0)
            _ = try store.claim(workerId: "w", limit: 2500, queues: nil, now: t0)
            try store.withConnection { c in try c.exec("ANALYZE") }

            let one = try plan(store, try store.withConnection { _ in store.claimStatement(queueCount: 1) })
            #expect(one.contains { $0.contains("USING COVERING INDEX _smrt_jobs_claim (queue=?)") }, "\(one)")
            #expect(!one.contains { $0.contains("TEMP B-TREE") }, "\(one)")
            #expect(one.contains { $0.contains("INTEGER PRIMARY KEY") }, "\(one)")

            let any = try plan(store, try store.withConnection { _ in store.claimStatement(queueCount: 0) })
            #expect(any.contains { $0.contains("_smrt_jobs_claim_any") }, "\(any)")
            #expect(!any.contains { $0.contains("TEMP B-TREE") }, "\(any)")

            // Several queues: each walk is bounded by LIMIT, only those rows are sorted.
            let two = try plan(store, try store.withConnection { _ in store.claimStatement(queueCount: 2) })
            #expect(two.filter { $0.contains("USING COVERING INDEX _smrt_jobs_claim (queue=?)") }.count == 2, "\(two)")

            // When the next delayed job comes due: seeks in a claim index per priority (and queue), never a scan of
            // the pending rows or a sort.
            for queueCount in [0, 1, 2] {
                let soonest = try plan(store, SQLiteJobStore.soonestRunAtSQL(queueCount: queueCount))
                let index = queueCount == 0 ? "_smrt_jobs_claim_any" : "_smrt_jobs_claim"
                let reads = soonest.filter { $0.contains("_smrt_jobs") }
                let throughIndex = reads.allSatisfy {
                    $0.contains("USING COVERING INDEX \(index)") && $0.contains("_smrt_jobs_claim_any") == (queueCount == 0)
                }
                #expect(reads.count == 3 && throughIndex, "\(soonest)")
                let seek = queueCount == 0 ? "(priority=? AND run_at>?)" : "(queue=? AND priority=? AND run_at>?)"
                #expect(reads.contains { $0.hasPrefix("SEARCH") && $0.contains(seek) }, "\(soonest)")
                #expect(!soonest.contains { $0.contains("TEMP B-TREE") }, "\(soonest)")
            }

            let heartbeat = try plan(
                store,
                "UPDATE _smrt_jobs INDEXED BY _smrt_jobs_running_worker SET worker_heartbeat = ?1 WHERE worker_id = ?2 AND status = 'running'")
            #expect(heartbeat.contains { $0.contains("_smrt_jobs_running_worker") }, "\(heartbeat)")
            let finish = try plan(
                store, "UPDATE _smrt_jobs SET status = 'completed' WHERE id = ?4 AND worker_id = ?5 AND status = 'running'")
            #expect(finish.contains { $0.contains("INTEGER PRIMARY KEY") }, "\(finish)")
            let list = try plan(store, "SELECT id FROM _smrt_jobs WHERE status = ?1 ORDER BY id DESC LIMIT 100")
            #expect(!list.contains { $0.contains("TEMP B-TREE") }, "\(list)")
            // stats counts inside the partial indexes, never reading the table.
            for byQueue in [false, true] {
                let stats = try plan(store, SQLiteJobStore.statsSQL(byQueue: byQueue))
                #expect(stats.filter { $0.contains("USING") && $0.contains("INDEX") }.count == 3, "\(stats)")
                #expect(!stats.contains { $0.hasPrefix("SCAN _smrt_jobs") && !$0.contains("INDEX") }, "\(stats)")
            }
            let cleanup = try plan(
                store, "SELECT id FROM _smrt_jobs WHERE status = ?1 AND completed_at < ?2 ORDER BY completed_at LIMIT ?3")
            #expect(cleanup.contains { $0.contains("_smrt_jobs_finished (status=? AND completed_at<?)") }, "\(cleanup)")
            #expect(!cleanup.contains { $0.contains("TEMP B-TREE") }, "\(cleanup)")
            let stale = try plan(
                store,
                """
                SELECT id FROM _smrt_jobs INDEXED BY _smrt_jobs_running_worker WHERE status = 'running' \
                AND (worker_heartbeat IS NULL OR worker_heartbeat < ?1) ORDER BY id
                """)
            #expect(stale.contains { $0.contains("_smrt_jobs_running_worker") }, "\(stale)")
        }
    }

    /// The dashboard's reads: each job page walks the primary key or its status's own index from the cursor,
    /// never sorting the table; the per-minute tallies stay inside `_smrt_jobs_finished`.
    @Test func monitoringReadsUseTheirIndexes() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            let ids = try store.enqueue(batch: (0..<3000).map { JobSpec(objectType: "T\($0 % 7)", method: "run", queue: $0 % 3 == 0 ? "mail" : "default", maxAttempts: 1) }, now: t0)
            _ = try store.claim(workerId: "w", limit: 2900, queues: nil, now: t0)
            _ = try store.finish(ids.prefix(2800).enumerated().map { i, id in
                AttemptReport(jobId: id, outcome: i % 10 == 0 ? .failed(error: "e", retryAt: nil) : .completed(result: nil))
            }, workerId: "w", now: t0)
            for id in ids[2800..<2850] { _ = try store.cancel(id: id, now: t0) }
            try store.withConnection { c in try c.exec("ANALYZE") }

            func pagePlan(_ query: JobPageQuery) throws -> [String] { try plan(store, SQLiteJobStore.pageSQL(query)) }
            // The outer statement reads the page's rows by primary key, in the IN list's order: no sort.
            for query in [
                JobPageQuery(), JobPageQuery(statuses: [.pending]), JobPageQuery(statuses: [.completed]),
                JobPageQuery(statuses: [.failed]), JobPageQuery(statuses: [.cancelled]), JobPageQuery(statuses: [.running]),
                JobPageQuery(statuses: [.failed, .cancelled]), JobPageQuery(queue: "mail", objectType: "T3", errorContains: "e"),
                JobPageQuery(statuses: [.failed], queue: "mail"),
            ] {
                let details = try pagePlan(query)
                #expect(details.contains { $0.contains("SEARCH _smrt_jobs USING INTEGER PRIMARY KEY (rowid=?)") }, "\(query): \(details)")
                let window: String
                switch query.indexedStatus {
                case .failed?: window = "_smrt_jobs_failed (id<?)"
                case .cancelled?: window = "_smrt_jobs_cancelled (id<?)"
                case .running?: window = "_smrt_jobs_running_worker"
                default: window = "USING INTEGER PRIMARY KEY (rowid<?)"
                }
                #expect(details.contains { $0.contains(window) }, "\(query): \(details)")
                // Only the few running rows are sorted.
                #expect(query.indexedStatus == .running || !details.contains { $0.contains("TEMP B-TREE") }, "\(query): \(details)")
            }
            for sql in [SQLiteJobStore.nextFinishSQL, SQLiteJobStore.finishedInRangeSQL] {
                let perMinute = try plan(store, sql)
                #expect(perMinute.contains { $0.contains("USING COVERING INDEX _smrt_jobs_finished (status=? AND completed_at>") }, "\(perMinute)")
                #expect(!perMinute.contains { $0.hasPrefix("SCAN") || $0.contains("TEMP B-TREE") }, "\(perMinute)")
            }
            // listQueues counts inside the partial indexes, never reading or sorting the table.
            for sql in [SQLiteJobStore.pendingByQueueSQL, SQLiteJobStore.runningByQueueSQL, SQLiteJobStore.finishedQueuesSQL] {
                let counts = try plan(store, sql)
                #expect(counts.contains { $0.contains("INDEX _smrt_jobs_") }, "\(counts)")
                #expect(!counts.contains { $0 == "SCAN _smrt_jobs" }, "\(counts)")
            }
            #expect(!(try plan(store, SQLiteJobStore.pendingByQueueSQL)).contains { $0.contains("TEMP B-TREE") })
            let queues = try store.listQueues(now: t0).map { ($0.name, $0.counts) }
            #expect(queues.map(\.0) == ["default", "mail"])
            let all = queues.reduce(into: JobStats()) { total, queue in
                total.pending += queue.1.pending
                total.running += queue.1.running
                total.completed += queue.1.completed
                total.failed += queue.1.failed
                total.cancelled += queue.1.cancelled
            }
            #expect(all == JobStats(pending: 100, running: 50, completed: 2520, failed: 280, cancelled: 50))
            // The answers, for the record: the planned statements run.
            #expect(try store.jobPage(JobPageQuery(statuses: [.failed])).jobs.count == 50)
            #expect(try store.finishedPerMinute(since: t0 - 60) == [MinuteTally(minute: t0, completed: 2520, failed: 280)])
        }
    }

    // MARK: Locks (claims by concurrent connections: the conformance suite)

    @Test func claimWaitsForAnotherWritersLock() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path)
            let job = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: t0)
            nonisolated(unsafe) let holder = try SQLiteConnection(path: path)  // used by the thread below only
            let locked = DispatchSemaphore(value: 0)
            let released = DispatchSemaphore(value: 0)
            let holdFor = 0.3
            Thread {
                do {
                    try holder.exec("BEGIN EXCLUSIVE")
                    locked.signal()
                    Thread.sleep(forTimeInterval: holdFor)  // the scenario: a writer holding the lock for 300 ms
                    try holder.exec("COMMIT")
                } catch {
                    locked.signal()
                }
                released.signal()
            }.start()
            #expect(locked.wait(timeout: .now() + 10) == .success)
            let started = Date()
            let claimed = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            let waited = Date().timeIntervalSince(started)
            #expect(claimed.map(\.id) == [job.id])
            #expect(waited >= holdFor * 0.5, "claim did not wait for the lock (\(waited) s)")
            #expect(released.wait(timeout: .now() + 10) == .success)
        }
    }

    @Test func aShortBusyTimeoutFailsWithSQLiteBusy() throws {
        try withDatabase { path in
            let store = try SQLiteJobStore(path: path, options: .init(busyTimeoutMs: 20))
            _ = try store.enqueue(JobSpec(objectType: "Doc", method: "run"), now: t0)
            let holder = try SQLiteConnection(path: path)
            try holder.exec("BEGIN EXCLUSIVE")
            defer { try? holder.exec("ROLLBACK") }
            #expect(throws: SmrtJobsError.database(kind: .busy, message: "database is locked")) {
                try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            }
        }
    }
}

/// Results written by several threads, read after they are joined.
final class ResultBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<Value, Error>) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = result
    }

    var values: [Result<Value, Error>?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
