import Foundation
import SmrtJobs
import SmrtJobsPostgres
import SmrtJobsSQLite

/// Where a supervisor phase's jobs live: a fresh SQLite file, or a fresh schema of the `--db` PostgreSQL
/// database.
final class BenchQueue {
    /// What the supervisor gets as `--db`.
    let db: String
    let store: any JobStore
    let isPostgres: Bool
    private let scalar: (String) throws -> String?
    private let remove: () -> Void

    init(db: String, store: any JobStore, isPostgres: Bool, scalar: @escaping (String) throws -> String?, remove: @escaping () -> Void) {
        self.db = db
        self.store = store
        self.isPostgres = isPostgres
        self.scalar = scalar
        self.remove = remove
    }

    /// The first column of the first row of a query (text).
    func text(_ sql: String) throws -> String? { try scalar(sql) }

    /// Deletes the file or drops the schema (unless --keep).
    func close() { remove() }

    /// Jobs still pending or running. On PostgreSQL one query over the two partial indexes (pending, running),
    /// marked so the cost figures leave it out; on SQLite `stats`.
    func unfinished() throws -> Int {
        if isPostgres {
            return Int(try text(
                "SELECT /* smrt-bench */ (SELECT count(*) FROM _smrt_jobs WHERE status = 'pending') + (SELECT count(*) FROM _smrt_jobs WHERE status = 'running')"
            ) ?? "") ?? 0
        }
        let stats = try store.stats(queue: nil)
        return stats.pending + stats.running
    }
}

/// Makes the queue of each supervisor phase.
enum QueueSource {
    case sqlite(dir: String)
    case postgres(PostgresBench)

    func make(_ name: String) throws -> BenchQueue {
        switch self {
        case .sqlite(let dir):
            let path = "\(dir)/\(name).sqlite"
            let store = try SQLiteJobStore(path: path)
            return BenchQueue(
                db: path, store: store, isPostgres: false, scalar: { sql in try store.withConnection { try $0.scalarText(sql) } },
                remove: { removeDatabase(path) })
        case .postgres(let pg):
            let (store, url, schema) = try pg.freshStore(name.replacingOccurrences(of: "-", with: "_"))
            return BenchQueue(
                db: url, store: store, isPostgres: true,
                scalar: { sql in try store.withConnection { try $0.queryOnce(sql).rows.first?.string(0) } },
                remove: { pg.drop(schema) })
        }
    }

    var postgres: PostgresBench? {
        if case .postgres(let pg) = self { return pg }
        return nil
    }
}

/// The parts that run the real `smrt-supervisor` with the demo worker (release builds).
struct SupervisorBench {
    let supervisor: String
    let worker: String
    /// Logs and SQLite files.
    let dir: String
    let queues: QueueSource

    // MARK: Helpers

    func start(db: String, workers: Int, name: String, extra: [String] = []) throws -> SupervisorProcess {
        // Experiments (docs/performance.md): extra supervisor flags, e.g. SMRT_BENCH_SUPERVISOR_ARGS="--prefetch 0".
        let experiment = ProcessInfo.processInfo.environment["SMRT_BENCH_SUPERVISOR_ARGS"].map {
            $0.split(separator: " ").map(String.init)
        } ?? []
        return try SupervisorProcess(
            binary: supervisor, db: db, workers: workers, workerExec: worker, extra: extra + experiment,
            logPath: "\(dir)/\(name).log")
    }

    static func enqueueNoops(_ store: any JobStore, count: Int, method: String = "noop") throws {
        var done = 0
        let now = Date()
        while done < count {
            let n = min(1_000, count - done)
            let specs = (0..<n).map { _ in JobSpec(objectType: "Demo", method: method) }
            _ = try store.enqueue(batch: specs, now: now)
            done += n
        }
    }

    static func terminalCount(_ store: any JobStore) throws -> (terminal: Int, completed: Int, failed: Int) {
        let stats = try store.stats(queue: nil)
        return (stats.completed + stats.failed + stats.cancelled, stats.completed, stats.failed)
    }

    /// Polls every `everyMs` until `done` returns true, the supervisor dies, or `timeoutMs` passes.
    /// Returns false on timeout.
    static func poll(_ supervisor: SupervisorProcess, everyMs: Int, timeoutMs: Int, _ done: () throws -> Bool) throws -> Bool {
        let deadline = monotonicNs() + UInt64(timeoutMs) * 1_000_000
        while true {
            if try done() { return true }
            try supervisor.checkAlive()
            if monotonicNs() >= deadline { return false }
            usleep(useconds_t(everyMs * 1_000))
        }
    }

    static func text(_ store: SQLiteJobStore, _ sql: String) throws -> String? {
        try store.withConnection { try $0.scalarText(sql) }
    }

    /// Milliseconds between two stored timestamps.
    static func spanMs(_ from: String?, _ to: String?) -> Double? {
        // PostgreSQL's text form ends in the session's zone, "+00".
        func parse(_ text: String) -> Date? { Timestamp.parse(text.hasSuffix("+00") ? String(text.dropLast(3)) : text) }
        guard let from, let to, let a = parse(from), let b = parse(to) else { return nil }
        return (b.timeIntervalSince1970 - a.timeIntervalSince1970) * 1000
    }

    // MARK: e2e

    struct Throughput {
        var perSecond: Double
        var completed: Int
        var failed: Int
        var timedOut: Bool
    }

    /// Burn-down of `jobs` pre-enqueued Demo.noop jobs with `workers` workers; throughput from the database:
    /// completed / (last completed_at − first started_at). On PostgreSQL with `cost`, also the server's cost
    /// per job: statistics reset before the enqueue, read after the enqueue and after the burn-down.
    func e2e(workers: Int, jobs: Int, cost: Bool = false) throws -> (Throughput, enqueue: PostgresBench.Cost?, run: PostgresBench.Cost?) {
        let queue = try queues.make("e2e-w\(workers)")
        defer { queue.close() }
        let store = queue.store
        let pg = cost ? queues.postgres : nil
        let statements = pg.map { $0.enableStatements() == nil } ?? false
        pg?.resetStatistics(statements: statements)
        let before = try pg?.snapshot(statements: statements)
        try SupervisorBench.enqueueNoops(store, count: jobs)
        let enqueued = try pg?.snapshot(statements: statements)
        let process = try start(db: queue.db, workers: workers, name: "e2e-w\(workers)")
        defer { process.stop() }
        // Throughput comes from the stored timestamps, so the poll only has to notice the end; counting the
        // unfinished rows costs ~4 ms at 50,000 on SQLite, taken from the run it measures.
        let finished = try SupervisorBench.poll(process, everyMs: 200, timeoutMs: max(60_000, jobs / 100 * 1_000)) {
            try queue.unfinished() == 0
        }
        process.stop()
        var enqueueCost: PostgresBench.Cost?, runCost: PostgresBench.Cost?
        if let pg, let before, let enqueued {
            // Backends report WAL statistics at exit; the postmaster reaps them (their CPU moves to its cutime).
            sleepMs(300)
            let after = try pg.snapshot(statements: statements)
            enqueueCost = try pg.cost(from: before, to: enqueued, jobs: jobs)
            runCost = try pg.cost(from: enqueued, to: after, jobs: jobs)
        }
        let counts = try SupervisorBench.terminalCount(store)
        let first = try queue.text("SELECT MIN(started_at) FROM _smrt_jobs WHERE started_at IS NOT NULL")
        let last = try queue.text("SELECT MAX(completed_at) FROM _smrt_jobs WHERE status = 'completed'")
        guard let ms = SupervisorBench.spanMs(first, last), ms > 0, counts.completed > 0 else {
            throw BenchError("e2e w\(workers): no completed jobs; log tail:\n\(process.logTail())")
        }
        let throughput = Throughput(
            perSecond: Double(counts.completed) / (ms / 1000), completed: counts.completed, failed: counts.failed,
            timedOut: !finished)
        return (throughput, enqueueCost, runCost)
    }

    // MARK: churn

    struct Churn {
        var jobs: Int
        var releases: Int
        var retriedAttempts: Int
        var seconds: Double
    }

    /// `jobs` jobs of `Demo.sleep` `sleepMs`, 2 workers, poll interval 300 ms: how many held jobs went back to
    /// pending (`job_released` lines) before every job completed. (Claiming ahead on every full claim, whatever
    /// the jobs' length, held 16 jobs for 480 ms here: 31 releases per 200 jobs before the second session.)
    func churn(jobs: Int, sleepMs: Int) throws -> Churn {
        let queue = try queues.make("churn")
        defer { queue.close() }
        let store = queue.store
        let specs = (0..<jobs).map { _ in
            JobSpec(objectType: "Demo", method: "sleep", args: ["ms": .int(Int64(sleepMs))])
        }
        _ = try store.enqueue(batch: specs, now: Date())
        let started = Date()
        let process = try start(db: queue.db, workers: 2, name: "churn", extra: ["--poll-interval", "300"])
        defer { process.stop() }
        _ = try SupervisorBench.poll(process, everyMs: 50, timeoutMs: 60_000 + jobs * sleepMs) {
            try SupervisorBench.terminalCount(store).terminal >= jobs
        }
        let seconds = Date().timeIntervalSince(started)
        process.stop()
        let releases = process.events.filter { $0.name == "job_released" }.count
        let attempts = Int(try queue.text("SELECT SUM(attempts) FROM _smrt_jobs") ?? "") ?? jobs
        return Churn(jobs: jobs, releases: releases, retriedAttempts: attempts - jobs, seconds: seconds)
    }

    // MARK: scaling

    /// Builds a file of `backlog` pending, ready Demo.noop jobs with raw batch inserts (50,000 rows per
    /// transaction), checkpointed and closed, to be copied for each run.
    func buildBacklog(_ backlog: Int) throws -> String {
        let path = "\(dir)/backlog-\(backlog).template.sqlite"
        Progress.say("building a backlog of \(formatNumber(Double(backlog))) pending jobs")
        let raw = try RawDB(path: path)
        try raw.fill(count: backlog, perTransaction: 50_000)
        try raw.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        try syncToDisk(path)
        return path
    }

    /// Completed jobs, counted through the finished index: a poll whose cost does not grow with the pending rows
    /// (`stats` counts those too: ~90 ms per call with 1,000,000 pending against ~0.5 ms with 10,000, which every
    /// 50 ms took most of a core from the run it measured).
    static func completedCount(_ store: SQLiteJobStore) throws -> Int {
        Int(try text(
            store,
            "SELECT COUNT(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_finished WHERE status = 'completed' AND completed_at IS NOT NULL"
        ) ?? "") ?? 0
    }

    /// Time to complete the first `measured` jobs (2 workers) of a copy of `template`. Returns jobs per second.
    func backlog(measured: Int, template: String, name: String) throws -> Throughput {
        let path = "\(dir)/\(name).sqlite"
        removeDatabase(path)
        defer { removeDatabase(path) }
        try FileManager.default.copyItem(atPath: template, toPath: path)
        // On disk before the run: the first checkpoint's fdatasync would otherwise write the whole copy back
        // (300 MB for 1,000,000 jobs) inside the measured window of the large run only.
        try syncToDisk(path)
        let store = try SQLiteJobStore(path: path)
        let process = try start(db: path, workers: 2, name: name)
        defer { process.stop() }
        let finished = try SupervisorBench.poll(process, everyMs: 50, timeoutMs: max(60_000, measured / 50 * 1_000)) {
            try SupervisorBench.completedCount(store) >= measured
        }
        process.stop()
        let counts = try SupervisorBench.terminalCount(store)
        let k = min(measured, counts.completed)
        // Jobs are claimed in id order (same priority and run_at), so the first start is among the first ids.
        let first = try SupervisorBench.text(
            store, "SELECT MIN(started_at) FROM _smrt_jobs WHERE id <= 1000 AND started_at IS NOT NULL")
        let kth = try SupervisorBench.text(
            store,
            "SELECT completed_at FROM _smrt_jobs WHERE status = 'completed' ORDER BY completed_at LIMIT 1 OFFSET \(max(k - 1, 0))")
        guard let ms = SupervisorBench.spanMs(first, kth), ms > 0, k > 0 else {
            throw BenchError("\(name): no completed jobs; log tail:\n\(process.logTail())")
        }
        return Throughput(perSecond: Double(k) / (ms / 1000), completed: k, failed: counts.failed, timedOut: !finished)
    }

    // MARK: memory

    struct Memory {
        var maxMB: Double
        var afterFirstTenthMB: Double
        var lastMB: Double
        var samples: Int
        var completed: Int
        var perSecond: Double
        var timedOut: Bool
    }

    /// Burns down `jobs` pending Demo.noop jobs (2 workers) and samples the supervisor's resident memory
    /// (`VmRSS`) every 250 ms: its maximum, its value once a tenth of the jobs are done, and at the end.
    func memory(jobs: Int) throws -> Memory {
        let path = try buildBacklog(jobs)
        defer { removeDatabase(path) }
        let store = try SQLiteJobStore(path: path)
        let process = try start(db: path, workers: 2, name: "memory")
        defer { process.stop() }
        let started = monotonicNs()
        var maxMB = 0.0, afterFirstTenth: Double?, last = 0.0, samples = 0, completed = 0
        let finished = try SupervisorBench.poll(process, everyMs: 250, timeoutMs: 120_000 + jobs / 500 * 1_000) {
            if let mb = SupervisorBench.residentMB(pid: process.pid) {
                samples += 1
                maxMB = max(maxMB, mb)
                last = mb
                if afterFirstTenth == nil && completed >= jobs / 10 { afterFirstTenth = mb }
            }
            completed = try SupervisorBench.completedCount(store)
            return completed >= jobs
        }
        let seconds = Double(monotonicNs() - started) / 1e9
        return Memory(
            maxMB: maxMB, afterFirstTenthMB: afterFirstTenth ?? last, lastMB: last, samples: samples, completed: completed,
            perSecond: Double(completed) / seconds, timedOut: !finished)
    }

    /// `VmRSS` of `pid` in MB (MiB), or nil.
    static func residentMB(pid: pid_t) -> Double? {
        guard let status = readFile("/proc/\(pid)/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kB = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kB / 1024
    }

    // MARK: pickup latency

    struct Latency {
        var samplesMs: [Double]
        var missed: Int
    }

    /// An idle supervisor (default poll interval); this process enqueues one Demo.timestamp job at a time and
    /// takes CLOCK_REALTIME right after the commit; the job returns CLOCK_REALTIME at its start.
    func pickup(samples: Int) throws -> Latency {
        let queue = try queues.make("pickup")
        defer { queue.close() }
        let store = queue.store
        let process = try start(db: queue.db, workers: 2, name: "pickup")
        defer { process.stop() }
        try process.waitReady(workers: 2)
        sleepMs(500)
        var latencies: [Double] = []
        var missed = 0
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<samples {
            let handle = try store.enqueue(JobSpec(objectType: "Demo", method: "timestamp"), now: Date())
            let committed = realtimeNs()
            // Look after most pickups are done, so polling does not compete for the 2 cores meanwhile.
            sleepMs(15)
            var startedNs: Int64?
            _ = try SupervisorBench.poll(process, everyMs: 2, timeoutMs: 5_000) {
                guard let job = try store.get(id: handle.id), job.status.isTerminal else { return false }
                startedNs = job.result?["ns"]?.intValue
                return true
            }
            if let startedNs {
                latencies.append(Double(startedNs - committed) / 1e6)
            } else {
                missed += 1
            }
            sleepMs(Double.random(in: 50...100, using: &generator))
        }
        return Latency(samplesMs: latencies, missed: missed)
    }

    // MARK: kills and respawns

    struct Kills {
        /// How late each SIGKILL came after its deadline (negative = early), ms.
        var lateMs: [Double]
        /// Where the figures came from: the supervisor's log, or the database as a fallback.
        var source: String
        /// Worker exit -> replacement ready, ms.
        var respawnMs: [Double]
        var jobs: Int
        var failed: Int
    }

    /// `count` Demo.spin jobs with a 300 ms timeout and the kill behaviour, 2 workers.
    func kills(count: Int) throws -> Kills {
        let queue = try queues.make("kill")
        defer { queue.close() }
        let store = queue.store
        let now = Date()
        let specs = (0..<count).map { _ in
            JobSpec(objectType: "Demo", method: "spin", maxAttempts: 1, timeout: 300, timeoutBehavior: .kill)
        }
        _ = try store.enqueue(batch: specs, now: now)
        let process = try start(db: queue.db, workers: 2, name: "kill")
        defer { process.stop() }
        _ = try SupervisorBench.poll(process, everyMs: 100, timeoutMs: 30_000 + count * 1_000) {
            try SupervisorBench.terminalCount(store).terminal >= count
        }
        // Let the last replacements come up before stopping, so their ready events are logged.
        sleepMs(300)
        process.stop()
        let events = process.events
        var late: [Double] = []
        for event in events where event.isKill {
            if let ms = event.number("late_ms") {
                late.append(ms)
            } else if let elapsed = event.number("elapsed_ms") {
                late.append(elapsed - (event.number("deadline_ms", "timeout_ms", "timeout") ?? 300))
            }
        }
        var source = "supervisor log (late_ms)"
        if late.isEmpty, let store = store as? SQLiteJobStore {
            // Fallback: completed_at − started_at − timeout, whole milliseconds, includes the database write.
            source = "database (completed_at - started_at - 300, ms resolution)"
            try store.withConnection { connection in
                try connection.withStatement(
                    "SELECT started_at, completed_at FROM _smrt_jobs WHERE status = 'failed'"
                ) { s in
                    while try s.step() {
                        if let ms = SupervisorBench.spanMs(s.string(0), s.string(1)) { late.append(ms - 300) }
                    }
                }
            }
        }
        let counts = try SupervisorBench.terminalCount(store)
        return Kills(
            lateMs: late, source: source, respawnMs: SupervisorBench.respawns(events), jobs: count,
            failed: counts.failed)
    }

    /// Pairs each worker exit with the next ready event of the same slot (or, without slots, the next ready
    /// event at all) and returns the gaps in ms. A ready event that carries its own `respawn_ms` wins.
    static func respawns(_ events: [LogEvent]) -> [Double] {
        // smrt-supervisor measures it itself: `worker_ready` of a replacement carries `respawn_ms`
        // (monotonic clock, from the death of the worker it replaces).
        let own = events.filter(\.isWorkerReady).compactMap { $0.number("respawn_ms") }
        if !own.isEmpty { return own }
        var pendingBySlot: [String: [Double]] = [:]
        var pendingAny: [Double] = []
        var gaps: [Double] = []
        for event in events {
            if event.isWorkerExit, let t = event.timeMs {
                if let slot = event.worker { pendingBySlot[slot, default: []].append(t) } else { pendingAny.append(t) }
            } else if event.isWorkerReady {
                guard let t = event.timeMs else { continue }
                if let slot = event.worker, var queue = pendingBySlot[slot], !queue.isEmpty {
                    gaps.append(t - queue.removeFirst())
                    pendingBySlot[slot] = queue
                } else if !pendingAny.isEmpty {
                    gaps.append(t - pendingAny.removeFirst())
                }
            }
        }
        return gaps
    }

    // MARK: idle CPU

    struct Idle {
        var supervisorPercent: Double
        var workersPercent: Double?
        var seconds: Double
    }

    /// Supervisor CPU (utime + stime from /proc) over `seconds` with `workers` workers and an empty queue.
    func idle(workers: Int, seconds: Double) throws -> Idle {
        let queue = try queues.make("idle")
        defer { queue.close() }
        let process = try start(db: queue.db, workers: workers, name: "idle")
        defer { process.stop() }
        try process.waitReady(workers: workers)
        sleepMs(1_000)
        let kids = childPids(of: process.pid)
        func workersCPU() -> Double? {
            kids.isEmpty ? nil : kids.compactMap(processCPUSeconds).reduce(0, +)
        }
        guard let c0 = processCPUSeconds(process.pid) else { throw BenchError("cannot read /proc/\(process.pid)/stat") }
        let w0 = workersCPU()
        let t0 = monotonicNs()
        sleepMs(seconds * 1000)
        try process.checkAlive()
        guard let c1 = processCPUSeconds(process.pid) else { throw BenchError("cannot read /proc/\(process.pid)/stat") }
        let w1 = workersCPU()
        let elapsed = Double(monotonicNs() - t0) / 1e9
        var workersPercent: Double?
        if let w0, let w1 { workersPercent = (w1 - w0) / elapsed * 100 }
        return Idle(supervisorPercent: (c1 - c0) / elapsed * 100, workersPercent: workersPercent, seconds: elapsed)
    }
}
