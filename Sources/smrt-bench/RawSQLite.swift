import CSQLite
import Foundation
import SmrtJobs
import SmrtJobsSQLite

/// The storage ceilings: the sqlite3 C API driven directly (prepare once; bind, step, reset), on a file with
/// our schema and our pragmas (WAL, synchronous NORMAL, busy_timeout), running the same SQL as
/// `SQLiteJobStore`. Our store's enqueue/claim/complete cannot beat these.
final class RawDB {
    let db: OpaquePointer
    let path: String
    private var statements: [OpaquePointer] = []

    /// Creates the schema through `SQLiteJobStore` (so it is exactly ours), then opens a raw connection.
    init(path: String, createSchema: Bool = true) throws {
        self.path = path
        if createSchema { _ = try SQLiteJobStore(path: path) }
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else { throw BenchError("sqlite3_open_v2 \(path): \(rc)") }
        db = handle
        sqlite3_busy_timeout(db, 5_000)
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        // Experiments only (docs/performance.md, profiling): extra pragmas, e.g. "PRAGMA cache_size=-16000".
        if let extra = ProcessInfo.processInfo.environment["SMRT_BENCH_RAW_PRAGMAS"] { try exec(extra) }
    }

    deinit {
        for s in statements { sqlite3_finalize(s) }
        sqlite3_close_v2(db)
    }

    func exec(_ sql: String) throws {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw BenchError("\(sql): \(String(cString: sqlite3_errmsg(db)))") }
    }

    func prepare(_ sql: String) throws -> OpaquePointer {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw BenchError("prepare \(sql): \(String(cString: sqlite3_errmsg(db)))") }
        statements.append(stmt)
        return stmt
    }

    /// Steps a statement with no rows of interest to its end, then resets it.
    @inline(__always)
    func run(_ stmt: OpaquePointer) throws {
        var rc = sqlite3_step(stmt)
        while rc == SQLITE_ROW { rc = sqlite3_step(stmt) }
        sqlite3_reset(stmt)
        if rc != SQLITE_DONE { throw BenchError("step: \(String(cString: sqlite3_errmsg(db)))") }
    }

    func scalarInt(_ sql: String) throws -> Int64 {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
            throw BenchError("prepare \(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(stmt) }
        return sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0
    }

    @inline(__always)
    static func bindText(_ stmt: OpaquePointer, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            // Text values here are never empty.
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(stmt, index, $0.baseAddress, Int32($0.count), csqlite_transient())
            }
        }
    }

    // MARK: The store's SQL, same shape (Sources/SmrtJobs/SQLite/SQLiteJobStore+Jobs.swift)

    static let insertSQL = """
        INSERT INTO _smrt_jobs (tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, \
        attempts, max_attempts, timeout, timeout_behavior, result_pointer, retry_strategy, created_at, updated_at) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
        """

    static let jobColumns = """
        id, tenant_id, queue, object_type, object_id, method, args, run_at, priority, status, attempts, \
        max_attempts, timeout, timeout_behavior, started_at, completed_at, last_error, result_pointer, result, \
        retry_strategy, worker_id, worker_heartbeat, created_at, updated_at
        """

    /// The store's claim of any queue, LIMIT 1.
    static let claimSQL = """
        UPDATE _smrt_jobs SET status = 'running', worker_id = ?1, worker_heartbeat = ?2, started_at = ?2, \
        attempts = attempts + 1, updated_at = ?2 \
        WHERE id IN (SELECT id FROM _smrt_jobs INDEXED BY _smrt_jobs_claim_any \
        WHERE status = 'pending' AND run_at <= ?2 ORDER BY priority DESC, run_at ASC, id ASC LIMIT ?3) \
        AND +status = 'pending' \
        RETURNING \(jobColumns)
        """

    static let completeSQL = """
        UPDATE _smrt_jobs SET status = 'completed', result = ?1, result_pointer = COALESCE(?2, result_pointer), \
        completed_at = ?3, updated_at = ?3 \
        WHERE id = ?4 AND worker_id = ?5 AND status = 'running'
        """

    static let retryStrategyText = #"{"type":"exponential","config":{}}"#

    /// A prepared insert of a Demo.noop job with the store's defaults; bind ?7 (run_at) and ?14 (now) per row.
    func prepareInsert() throws -> OpaquePointer {
        let stmt = try prepare(RawDB.insertSQL)
        return stmt
    }

    @inline(__always)
    func insertRow(_ stmt: OpaquePointer, now: String) throws {
        sqlite3_bind_null(stmt, 1)
        RawDB.bindText(stmt, 2, "default")
        RawDB.bindText(stmt, 3, "Demo")
        sqlite3_bind_null(stmt, 4)
        RawDB.bindText(stmt, 5, "noop")
        RawDB.bindText(stmt, 6, "{}")
        RawDB.bindText(stmt, 7, now)
        sqlite3_bind_int64(stmt, 8, 50)
        sqlite3_bind_int64(stmt, 9, 3)
        sqlite3_bind_int64(stmt, 10, 300_000)
        RawDB.bindText(stmt, 11, "fail")
        sqlite3_bind_null(stmt, 12)
        RawDB.bindText(stmt, 13, RawDB.retryStrategyText)
        RawDB.bindText(stmt, 14, now)
        try run(stmt)
    }

    /// Inserts `count` pending Demo.noop jobs (run_at now) in transactions of `perTransaction` rows.
    func fill(count: Int, perTransaction: Int) throws {
        let insert = try prepareInsert()
        let begin = try prepare("BEGIN IMMEDIATE")
        let commit = try prepare("COMMIT")
        let now = Timestamp.format(Date())
        var done = 0
        while done < count {
            try run(begin)
            let n = min(perTransaction, count - done)
            for _ in 0..<n { try insertRow(insert, now: now) }
            try run(commit)
            done += n
        }
    }
}

enum RawSQLiteBench {
    /// One row per transaction. Returns rows per second.
    static func insertSingle(dir: String, count: Int) throws -> Double {
        let path = dir + "/raw-insert.sqlite"
        defer { removeDatabase(path) }
        let raw = try RawDB(path: path)
        let insert = try raw.prepareInsert()
        let begin = try raw.prepare("BEGIN IMMEDIATE")
        let commit = try raw.prepare("COMMIT")
        let start = monotonicNs()
        for _ in 0..<count {
            // The store formats its timestamps per call; so does this loop.
            let now = Timestamp.format(Date())
            try raw.run(begin)
            try raw.insertRow(insert, now: now)
            try raw.run(commit)
        }
        return Double(count) / (Double(monotonicNs() - start) / 1e9)
    }

    /// `batch` rows per transaction. Returns rows per second.
    static func insertBatch(dir: String, count: Int, batch: Int) throws -> Double {
        let path = dir + "/raw-batch.sqlite"
        defer { removeDatabase(path) }
        let raw = try RawDB(path: path)
        let insert = try raw.prepareInsert()
        let begin = try raw.prepare("BEGIN IMMEDIATE")
        let commit = try raw.prepare("COMMIT")
        let start = monotonicNs()
        var done = 0
        while done < count {
            let now = Timestamp.format(Date())
            try raw.run(begin)
            for _ in 0..<batch { try raw.insertRow(insert, now: now) }
            try raw.run(commit)
            done += batch
        }
        return Double(done) / (Double(monotonicNs() - start) / 1e9)
    }

    /// Claim one job (its own transaction), then complete it (its own transaction), as a worker slot of the
    /// supervisor does through the store. Returns jobs per second.
    static func claimComplete(dir: String, count: Int) throws -> Double {
        let path = dir + "/raw-claim.sqlite"
        defer { removeDatabase(path) }
        let raw = try RawDB(path: path)
        try raw.fill(count: count, perTransaction: 10_000)
        try raw.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        let claim = try raw.prepare(RawDB.claimSQL)
        let complete = try raw.prepare(RawDB.completeSQL)
        let begin = try raw.prepare("BEGIN IMMEDIATE")
        let commit = try raw.prepare("COMMIT")
        let worker = "bench-worker-1"
        let start = monotonicNs()
        var done = 0
        for _ in 0..<count {
            let now = Timestamp.format(Date())
            try raw.run(begin)
            RawDB.bindText(claim, 1, worker)
            RawDB.bindText(claim, 2, now)
            sqlite3_bind_int64(claim, 3, 1)
            var id: Int64 = -1
            var rc = sqlite3_step(claim)
            while rc == SQLITE_ROW {
                id = sqlite3_column_int64(claim, 0)
                rc = sqlite3_step(claim)
            }
            sqlite3_reset(claim)
            guard rc == SQLITE_DONE, id > 0 else { throw BenchError("claim returned no row (rc \(rc))") }
            try raw.run(commit)

            let finished = Timestamp.format(Date())
            try raw.run(begin)
            sqlite3_bind_null(complete, 1)
            sqlite3_bind_null(complete, 2)
            RawDB.bindText(complete, 3, finished)
            sqlite3_bind_int64(complete, 4, id)
            RawDB.bindText(complete, 5, worker)
            try raw.run(complete)
            try raw.run(commit)
            done += 1
        }
        return Double(done) / (Double(monotonicNs() - start) / 1e9)
    }
}
