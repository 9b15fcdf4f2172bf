import Foundation
import SmrtJobs
import SmrtJobsPostgres

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL side of a run (`smrt-bench run --db postgresql://…`): one schema per measurement, all named
/// after this run (`smrt_bench_<pid>_<n>_<what>`), created by `PostgresJobStore` itself (so the schema is
/// exactly ours) and dropped when the measurement ends, unless `--keep`.
final class PostgresBench {
    /// The URL as given (no `options`): the bench's own admin connection (statistics, schema drops) uses it.
    let baseURL: String
    let keep: Bool
    let runPrefix: String
    private var counter = 0
    /// Every schema made by this run, for the final sweep.
    private(set) var schemas: [String] = []
    let admin: PostgresConnection
    /// The URL without its password.
    var displayName: String { PostgresSettings.redact(baseURL) }

    init(url: String, keep: Bool) throws {
        if url.contains("options=") {
            throw BenchError("--db: leave `options` out of the URL; the bench sets the search path itself (one fresh schema per measurement)")
        }
        baseURL = url
        self.keep = keep
        runPrefix = "smrt_bench_\(getpid())"
        admin = try PostgresConnection(settings: try PostgresSettings(url: url))
        // DROP SCHEMA … CASCADE lists every table as a NOTICE on stderr otherwise.
        try admin.exec("SET client_min_messages = warning")
    }

    /// A fresh schema's name and URL (`?options=-csearch_path%3D<schema>`).
    func freshSchema(_ what: String) -> (schema: String, url: String) {
        counter += 1
        let schema = "\(runPrefix)_\(counter)_\(what)"
        schemas.append(schema)
        let separator = baseURL.contains("?") ? "&" : "?"
        return (schema, baseURL + separator + "options=-csearch_path%3D" + schema)
    }

    /// A fresh queue: its schema and tables created by the store.
    func freshStore(_ what: String) throws -> (store: PostgresJobStore, url: String, schema: String) {
        let (schema, url) = freshSchema(what)
        let store = try PostgresJobStore(settings: try PostgresSettings(url: url))
        return (store, url, schema)
    }

    func drop(_ schema: String) {
        if keep { return }
        _ = try? admin.exec("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }

    /// Drops every schema of this run (also those a failed measurement left behind).
    func dropAll() {
        if keep {
            Progress.say("kept PostgreSQL schemas \(runPrefix)_*")
            return
        }
        let names = (try? admin.queryOnce(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", [runPrefix + "_"]
        ).rows.compactMap { $0.string(0) }) ?? []
        for name in names { drop(name) }
    }

    // MARK: Server facts

    /// Version and the settings that matter for these figures.
    func serverInfo() -> JSONOut {
        var fields: [(String, JSONOut)] = []
        for name in ["server_version", "fsync", "synchronous_commit", "wal_level", "shared_buffers", "max_wal_size",
                     "shared_preload_libraries"] {
            let value = (try? admin.exec("SHOW \(name)").row(0).string(0)) ?? nil
            fields.append((name, value.map(JSONOut.string) ?? .null))
        }
        fields.append(("server_pid", serverPid.map { .int(Int64($0)) } ?? .null))
        return .object(fields)
    }

    /// The postmaster's pid when the server runs on this machine (and in this pid namespace): the parent of
    /// our backend, if it is a `postgres` process.
    lazy var serverPid: pid_t? = {
        guard let text = try? admin.exec("SELECT pg_backend_pid()").row(0).string(0), let backend = pid_t(text),
            let stat = ProcStat(pid: backend), stat.comm.hasPrefix("postgres"),
            let parent = ProcStat(pid: stat.ppid), parent.comm.hasPrefix("postgres")
        else { return nil }
        return stat.ppid
    }()

    /// CPU seconds the whole server has used so far: the postmaster (with its reaped children) and every
    /// live child (backends, walwriter, checkpointer, autovacuum, …). Grows monotonically: a backend's time
    /// moves into the postmaster's cutime/cstime when it exits.
    func serverCPUSeconds() -> Double? {
        guard let pid = serverPid, let master = ProcStat(pid: pid) else { return nil }
        var total = master.ownSeconds + master.childrenSeconds
        for child in childPids(of: pid) {
            if let stat = ProcStat(pid: child) { total += stat.ownSeconds + stat.childrenSeconds }
        }
        return total
    }

    // MARK: Cost per job (pg_stat_statements, WAL)

    /// Makes sure pg_stat_statements is there; returns why not when it cannot be.
    func enableStatements() -> String? {
        do {
            try admin.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            _ = try admin.exec("SELECT /* smrt-bench */ count(*) FROM pg_stat_statements")
            return nil
        } catch {
            return "pg_stat_statements unavailable (\(error)); statements and server time per job not measured"
        }
    }

    struct Snapshot {
        var calls: Double?
        var execMs: Double?
        var commits: Double?
        var statements: [(query: String, calls: Double, execMs: Double)] = []
        var walLSN: String
        var cpuSeconds: Double?
        var wallNs = monotonicNs()
    }

    /// Resets pg_stat_statements and pg_stat_wal.
    func resetStatistics(statements: Bool) {
        if statements { _ = try? admin.exec("SELECT /* smrt-bench */ pg_stat_statements_reset()") }
        _ = try? admin.exec("SELECT /* smrt-bench */ pg_stat_reset_shared('wal')")
    }

    /// Statements of this database other than the bench's own (marked `smrt-bench`), the WAL insert position
    /// and the server's CPU time.
    func snapshot(statements: Bool) throws -> Snapshot {
        var snapshot = Snapshot(walLSN: try admin.exec("SELECT /* smrt-bench */ pg_current_wal_insert_lsn()::text").row(0).string(0) ?? "0/0")
        if statements {
            let rows = try admin.exec(
                """
                SELECT /* smrt-bench */ calls::float8, total_exec_time, query FROM pg_stat_statements \
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                AND query NOT LIKE '%smrt-bench%' ORDER BY calls DESC
                """
            ).rows
            var calls = 0.0, exec = 0.0, commits = 0.0
            for row in rows {
                let c = Double(row.string(0) ?? "") ?? 0
                let e = Double(row.string(1) ?? "") ?? 0
                let q = row.string(2) ?? ""
                calls += c
                exec += e
                if q.uppercased().hasPrefix("COMMIT") { commits += c }
                snapshot.statements.append((q, c, e))
            }
            snapshot.calls = calls
            snapshot.execMs = exec
            snapshot.commits = commits
        }
        snapshot.cpuSeconds = serverCPUSeconds()
        return snapshot
    }

    func walBytes(from: String, to: String) throws -> Double {
        Double(try admin.queryOnce("SELECT /* smrt-bench */ pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::float8", [to, from])
            .row(0).string(0) ?? "0") ?? 0
    }

    /// WAL records and full-page images since the last reset (pg_stat_wal; backends report at most every
    /// second and at exit, so read this after the supervisor stopped and a pause).
    func walStats() -> (records: Double, fpi: Double)? {
        guard let row = try? admin.exec("SELECT /* smrt-bench */ wal_records::float8, wal_fpi::float8 FROM pg_stat_wal").row(0)
        else { return nil }
        return (Double(row.string(0) ?? "") ?? 0, Double(row.string(1) ?? "") ?? 0)
    }

    struct Cost {
        var jobs: Int
        var statementsPerJob: Double?
        var commitsPerJob: Double?
        var execUsPerJob: Double?
        var walBytesPerJob: Double
        var serverCPUUsPerJob: Double?
        var serverCPUPercent: Double?
        var topStatements: [(query: String, perJob: Double, execUs: Double)]

        var json: JSONOut {
            .object([
                ("jobs", .int(Int64(jobs))),
                ("statements_per_job", statementsPerJob.map(JSONOut.number) ?? .null),
                ("commits_per_job", commitsPerJob.map(JSONOut.number) ?? .null),
                ("exec_us_per_job", execUsPerJob.map(JSONOut.number) ?? .null),
                ("wal_bytes_per_job", .number(walBytesPerJob)),
                ("server_cpu_us_per_job", serverCPUUsPerJob.map(JSONOut.number) ?? .null),
                ("server_cpu_percent_of_one_core", serverCPUPercent.map(JSONOut.number) ?? .null),
            ])
        }
    }

    func cost(from a: Snapshot, to b: Snapshot, jobs: Int) throws -> Cost {
        let n = Double(max(jobs, 1))
        var top: [(String, Double, Double)] = []
        for s in b.statements {
            let before = a.statements.first(where: { $0.query == s.query })
            let calls = s.calls - (before?.calls ?? 0)
            if calls <= 0 { continue }
            let exec = s.execMs - (before?.execMs ?? 0)
            top.append((Self.shorten(s.query), calls / n, exec * 1000 / n))
        }
        top.sort { $0.1 > $1.1 }
        let cpu = a.cpuSeconds.flatMap { x in b.cpuSeconds.map { $0 - x } }
        let wall = Double(b.wallNs - a.wallNs) / 1e9
        return Cost(
            jobs: jobs,
            statementsPerJob: a.calls.flatMap { x in b.calls.map { ($0 - x) / n } },
            commitsPerJob: a.commits.flatMap { x in b.commits.map { ($0 - x) / n } },
            execUsPerJob: a.execMs.flatMap { x in b.execMs.map { ($0 - x) * 1000 / n } },
            walBytesPerJob: try walBytes(from: a.walLSN, to: b.walLSN) / n,
            serverCPUUsPerJob: cpu.map { $0 * 1e6 / n },
            serverCPUPercent: cpu.map { wall > 0 ? $0 / wall * 100 : 0 },
            topStatements: Array(top.prefix(10)))
    }

    static func shorten(_ query: String) -> String {
        let flat = query.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count > 90 ? String(flat.prefix(90)) + "…" : flat
    }
}

/// The fields of /proc/PID/stat the bench reads.
struct ProcStat {
    var comm: String
    var ppid: pid_t
    var utime: Double, stime: Double, cutime: Double, cstime: Double

    init?(pid: pid_t) {
        guard let text = readFile("/proc/\(pid)/stat"), let open = text.firstIndex(of: "("),
            let close = text.lastIndex(of: ")")
        else { return nil }
        comm = String(text[text.index(after: open)..<close])
        // After "comm)": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
        let f = text[text.index(after: close)...].split(separator: " ")
        guard f.count > 14, let ppid = pid_t(f[1]) else { return nil }
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        self.ppid = ppid
        utime = (Double(f[11]) ?? 0) / tick
        stime = (Double(f[12]) ?? 0) / tick
        cutime = (Double(f[13]) ?? 0) / tick
        cstime = (Double(f[14]) ?? 0) / tick
    }

    var ownSeconds: Double { utime + stime }
    var childrenSeconds: Double { cutime + cstime }
}

/// The storage ceilings over libpq: `PostgresConnection` running the store's own statements
/// (`PostgresJobStore.insertNotifySQL`, `.insertBatchSQL`, `.claimSQL.any`, `.completeSQL`, `pg_notify`), prepared
/// once per connection, one round trip per statement, on a schema created by `PostgresJobStore`.
enum RawPostgresBench {
    static let retryStrategyText = RetryStrategy.default.jsonValue.jsonText

    /// The 15 parameters of `insertNotifySQL` for a Demo.noop job with the store's defaults.
    static func insertParameters(now: String, channel: String) -> [String?] {
        [nil, "default", "Demo", nil, "noop", "{}", now, String(Priority.normal.rawValue), "3", "300000", "fail", nil,
         retryStrategyText, now, channel]
    }

    /// One job per statement (autocommit: one transaction each), as `store.enqueue` does. Rows per second.
    static func insertSingle(_ pg: PostgresBench, count: Int) throws -> Double {
        let (store, url, schema) = try pg.freshStore("raw_insert")
        defer { pg.drop(schema) }
        let connection = try PostgresConnection(settings: try PostgresSettings(url: url))
        let channel = store.channel
        let start = monotonicNs()
        for _ in 0..<count {
            try connection.query(PostgresJobStore.insertNotifySQL, insertParameters(now: Timestamp.format(Date()), channel: channel))
        }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }

    /// The 15 parameters of `insertBatchSQL` for `n` Demo.noop jobs.
    static func batchParameters(_ n: Int, now: String, channel: String) -> [String?] {
        func column(_ value: String?) -> String? { PostgresJobStore.array([String?](repeating: value, count: n)) }
        let row = insertParameters(now: now, channel: channel)
        var parameters = (0..<13).map { column(row[$0]) }
        parameters.append(now)
        parameters.append(channel)
        return parameters
    }

    /// `batch` jobs per statement (the store's unnest insert). Rows per second.
    static func insertBatch(_ pg: PostgresBench, count: Int, batch: Int) throws -> Double {
        let (store, url, schema) = try pg.freshStore("raw_batch")
        defer { pg.drop(schema) }
        let connection = try PostgresConnection(settings: try PostgresSettings(url: url))
        let channel = store.channel
        let start = monotonicNs()
        var done = 0
        while done < count {
            try connection.query(PostgresJobStore.insertBatchSQL, batchParameters(batch, now: Timestamp.format(Date()), channel: channel))
            done += batch
        }
        return Double(done) / (Double(monotonicNs() - start) / 1e9)
    }

    /// `count` pending, due Demo.noop jobs in one statement.
    static func fill(_ connection: PostgresConnection, count: Int) throws {
        try connection.queryOnce(
            """
            INSERT INTO _smrt_jobs (queue, object_type, method, args, run_at, priority, status, attempts, max_attempts, \
            timeout, timeout_behavior, retry_strategy, created_at, updated_at) \
            SELECT 'default', 'Demo', 'noop', '{}'::jsonb, now() - interval '1 second', \(Priority.normal.rawValue), 'pending', 0, 3, \
            300000, 'fail', $1::jsonb, now(), now() FROM generate_series(1, $2::integer)
            """, [retryStrategyText, String(count)])
    }

    /// The supervisor's steady state per transaction: `BEGIN`, the store's complete `UPDATE` for each job of
    /// the previous claim, one `pg_notify`, the store's claim of `batch` jobs, `COMMIT` (what
    /// `finish(_:thenClaim:)` runs), on `connections` connections at once sharing one pre-filled table of
    /// `count` jobs. Returns jobs per second (all connections together).
    static func claimComplete(
        _ pg: PostgresBench, count: Int, batch: Int, connections: Int, setBased: Bool = false
    ) throws -> Double {
        let (store, url, schema) = try pg.freshStore("raw_claim_b\(batch)_c\(connections)\(setBased ? "_set" : "")")
        defer { pg.drop(schema) }
        let settings = try PostgresSettings(url: url)
        do {
            let filler = try PostgresConnection(settings: settings)
            try fill(filler, count: count)
            try filler.exec("VACUUM ANALYZE _smrt_jobs")
        }
        let channel = store.channel
        let ready = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        let outcome = LockedBox<[String]>([])
        let share = count / connections
        for index in 0..<connections {
            finished.enter()
            let thread = Thread {
                defer { finished.leave() }
                do {
                    let connection = try PostgresConnection(settings: settings)
                    ready.signal()
                    go.wait()
                    try claimCompleteLoop(
                        connection, channel: channel, worker: "bench-worker-\(index + 1)", jobs: share, batch: batch,
                        setBased: setBased)
                } catch {
                    ready.signal()
                    outcome.update { $0.append("\(error)") }
                }
            }
            thread.start()
        }
        for _ in 0..<connections { ready.wait() }
        let start = monotonicNs()
        for _ in 0..<connections { go.signal() }
        finished.wait()
        let elapsed = Double(monotonicNs() - start) / 1e9
        if let error = outcome.value.first { throw BenchError("raw claim + complete: \(error)") }
        return Double(share * connections) / elapsed
    }

    /// The store's complete `UPDATE` for a set of jobs: `id = ANY($4::bigint[])` instead of `id = $4::bigint`,
    /// the rest unchanged. The store has no such statement yet (`finish` runs one `UPDATE` per report); this is
    /// the ceiling a batched `finish` could reach.
    static let completeManySQL: String = {
        let sql = PostgresJobStore.completeSQL.replacingOccurrences(of: "WHERE id = $4::bigint", with: "WHERE id = ANY($4::bigint[])")
        precondition(sql != PostgresJobStore.completeSQL, "the store's complete statement changed shape")
        return sql
    }()

    /// With `setBased`, the jobs of the previous claim are completed by one `completeManySQL` instead of one
    /// `completeSQL` each.
    static func claimCompleteLoop(
        _ connection: PostgresConnection, channel: String, worker: String, jobs: Int, batch: Int, setBased: Bool
    ) throws {
        var held: [Int64] = []
        var claimed = 0
        while true {
            let now = Timestamp.format(Date())
            try connection.exec("BEGIN")
            if setBased && !held.isEmpty {
                let rows = try connection.query(
                    completeManySQL, [nil, nil, now, "{" + held.map(String.init).joined(separator: ",") + "}", worker, nil, nil, nil])
                if rows.rowCount != held.count { throw BenchError("complete of \(held.count) jobs changed \(rows.rowCount) rows") }
            } else {
                for id in held {
                    let rows = try connection.query(PostgresJobStore.completeSQL, [nil, nil, now, String(id), worker, nil, nil, nil])
                    if rows.rowCount != 1 { throw BenchError("complete of job \(id) changed \(rows.rowCount) rows") }
                }
            }
            if !held.isEmpty { try connection.query("SELECT pg_notify($1, '')", [channel]) }
            held = []
            let want = min(batch, jobs - claimed)
            if want > 0 {
                let rows = try connection.query(PostgresJobStore.claimSQL.any, [worker, now, String(want)])
                held = rows.rows.map { $0.int64(0) }
                if held.isEmpty { throw BenchError("claim returned no job after \(claimed) of \(jobs)") }
                claimed += held.count
            }
            try connection.exec("COMMIT")
            if held.isEmpty { return }
        }
    }
}

/// A value shared between threads under a lock.
final class LockedBox<T>: @unchecked Sendable {  // value is used under `lock` only
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func update(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}

/// The store's enqueue, and its claim + complete without IPC, on fresh schemas.
enum PostgresStoreBench {
    static func single(_ pg: PostgresBench, count: Int) throws -> Double {
        let (store, _, schema) = try pg.freshStore("enqueue_single")
        defer { pg.drop(schema) }
        let start = monotonicNs()
        for _ in 0..<count { _ = try store.enqueue(JobSpec(objectType: "Demo", method: "noop"), now: Date()) }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }

    static func batch(_ pg: PostgresBench, count: Int, batch: Int) throws -> Double {
        let (store, _, schema) = try pg.freshStore("enqueue_batch")
        defer { pg.drop(schema) }
        let start = monotonicNs()
        var done = 0
        while done < count {
            let specs = (0..<batch).map { _ in JobSpec(objectType: "Demo", method: "noop") }
            _ = try store.enqueue(batch: specs, now: Date())
            done += batch
        }
        return Double(done) / (Double(monotonicNs() - start) / 1e9)
    }

    /// `store.claim(limit: 1)` then `store.complete`, per job (two transactions), as `StoreClaimBench` on SQLite.
    static func claimComplete(_ pg: PostgresBench, count: Int) throws -> Double {
        let (store, _, schema) = try pg.freshStore("store_claim")
        defer { pg.drop(schema) }
        try store.withConnection { try RawPostgresBench.fill($0, count: count); try $0.exec("VACUUM ANALYZE _smrt_jobs") }
        let worker = "bench-worker-1"
        let start = monotonicNs()
        for _ in 0..<count {
            guard let job = try store.claim(workerId: worker, limit: 1, queues: nil, now: Date()).first else {
                throw BenchError("store claim returned no job")
            }
            try store.complete(id: job.id, workerId: worker, now: Date())
        }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }
}
