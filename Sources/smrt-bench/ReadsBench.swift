import ArgumentParser
import Foundation
import SmrtJobs
import SmrtJobsPostgres
import SmrtJobsSQLite

/// `smrt-bench reads`: the dashboard's reads on a large queue (docs/performance.md, "Dashboard reads"). Fills a
/// SQLite file or a PostgreSQL schema with `--jobs` jobs shaped like a busy hour (90% completed over the last hour,
/// 5% pending, 0.1% running, 4% failed, 0.9% cancelled; 5 queues, 20 types), then times each read: the median of
/// `--repeat` runs after one warm-up, in milliseconds.
struct Reads: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the dashboard's reads (job pages, per-minute tallies, queues, stats) on a filled queue.")

    @Option(help: "A SQLite file to fill (created; an existing one is used as it is).")
    var path: String?

    @Option(help: "A PostgreSQL URL (no `options`): the queue goes into a fresh schema, dropped at the end unless --keep.")
    var db: String?

    @Option(help: "Jobs to fill in.")
    var jobs = 1_000_000

    @Option(name: .customLong("repeat"), help: "Timed runs per read (after one warm-up).")
    var repetitions = 5

    @Flag(help: "Keep the PostgreSQL schema.")
    var keep = false

    @Option(help: "With --db: measure this schema, filled before (--keep), instead of filling a fresh one.")
    var schema: String?

    func run() throws {
        Progress.startNs = monotonicNs()
        let now = Date()
        let store: any MonitoringStore & JobStore & QueueStore
        var cleanup: () -> Void = {}
        var filled = false
        if let db, let schema {
            let separator = db.contains("?") ? "&" : "?"
            store = try PostgresJobStore(settings: try PostgresSettings(url: db + separator + "options=-csearch_path%3D" + schema))
        } else if let db {
            let pg = try PostgresBench(url: db, keep: keep)
            let (pgStore, _, schema) = try pg.freshStore("reads")
            store = pgStore
            if !keep { cleanup = { pg.drop(schema) } }
            Progress.say("PostgreSQL schema \(schema)")
            try Self.fill(store, jobs: jobs, now: now) { sql in _ = try pgStore.withConnection { try $0.exec(sql) } }
            _ = try pgStore.withConnection { try $0.exec("VACUUM ANALYZE _smrt_jobs") }
            filled = true
        } else {
            let file = path ?? "reads-bench.sqlite"
            let exists = FileManager.default.fileExists(atPath: file)
            let sqlite = try SQLiteJobStore(path: file)
            store = sqlite
            if try !exists || sqlite.stats(queue: nil).pending == 0 {
                try Self.fill(store, jobs: jobs, now: now) { sql in try sqlite.withConnection { try $0.exec(sql) } }
                filled = true
            }
        }
        defer { cleanup() }
        if !filled { Progress.say("using the jobs already there") }
        try measure(store, now: now)
    }

    /// The jobs, by batch enqueue, then their statuses by a few UPDATEs on id ranges of each thousand.
    static func fill(
        _ store: any JobStore, jobs: Int, now: Date, execute: (String) throws -> Void
    ) throws {
        let started = Date()
        var ids: [Int64] = []
        ids.reserveCapacity(jobs)
        var batch: [JobSpec] = []
        for i in 0..<jobs {
            batch.append(
                JobSpec(
                    objectType: "T\(i % 20)", method: "run", args: ["n": .int(Int64(i)), "report": "monthly"],
                    queue: "q\(i % 5)", runAt: now.addingTimeInterval(-3600)))
            if batch.count == 10_000 || i == jobs - 1 {
                ids += try store.enqueue(batch: batch, now: now.addingTimeInterval(-3600))
                batch.removeAll(keepingCapacity: true)
                Progress.say("enqueued \(ids.count) of \(jobs)")
            }
        }
        guard let first = ids.first, let last = ids.last else { return }
        // Per thousand ids: 0-49 pending, 50 running, 51-90 failed, 91-99 cancelled, the rest completed; finished
        // times spread over the last hour in id order. One failed job in 97 ran out of disk.
        let span = Double(max(1, last - first))
        let hourAgo = Timestamp.format(now.addingTimeInterval(-3600))
        func finishedAt(_ sqlite: Bool) -> String {
            sqlite
                ? "strftime('%Y-%m-%dT%H:%M:%fZ', '\(hourAgo)', '+' || ((id - \(first)) * 3600.0 / \(span)) || ' seconds')"
                : "'\(hourAgo)'::timestamptz + ((id - \(first)) * 3600.0 / \(span)) * interval '1 second'"
        }
        let sqlite = store is SQLiteJobStore
        let updates = [
            """
            UPDATE _smrt_jobs SET status = 'running', worker_id = 'sup-bench', started_at = \(finishedAt(sqlite)), \
            worker_heartbeat = \(finishedAt(sqlite)), attempts = 1 WHERE id % 1000 = 50
            """,
            """
            UPDATE _smrt_jobs SET status = 'failed', completed_at = \(finishedAt(sqlite)), attempts = 3, worker_id = 'sup-bench', \
            last_error = CASE WHEN id % 97 = 0 THEN 'IOError: disk full writing /var/reports/' || id \
            ELSE 'TimeoutError: job ' || id || ' ran past its 30000 ms timeout' END WHERE id % 1000 BETWEEN 51 AND 90
            """,
            """
            UPDATE _smrt_jobs SET status = 'cancelled', completed_at = \(finishedAt(sqlite)) WHERE id % 1000 BETWEEN 91 AND 99
            """,
            """
            UPDATE _smrt_jobs SET status = 'completed', completed_at = \(finishedAt(sqlite)), attempts = 1, \
            worker_id = 'sup-bench', result = '{"pages":3}' WHERE id % 1000 >= 100
            """,
        ]
        for sql in updates {
            try execute(sql)
            Progress.say("updated: \(sql.prefix(60))…")
        }
        Progress.say("filled \(jobs) jobs in \(Int(Date().timeIntervalSince(started))) s")
    }

    func measure(_ store: any MonitoringStore & JobStore & QueueStore, now: Date) throws {
        var rows: [(String, Double, Double, String)] = []
        func time(_ name: String, _ body: () throws -> String) throws {
            _ = try body()
            var samples: [Double] = []
            var note = ""
            for _ in 0..<max(1, repetitions) {
                let start = DispatchTime.now().uptimeNanoseconds
                note = try body()
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            samples.sort()
            rows.append((name, samples[samples.count / 2], samples[0], note))
            Progress.say(String(format: "%-44@ %8.2f ms (min %.2f)  %@", name as NSString, samples[samples.count / 2], samples[0], note))
        }
        func page(_ query: JobPageQuery) throws -> String {
            let page = try store.jobPage(query)
            return "\(page.jobs.count) jobs\(page.scanLimitReached ? ", scan limit reached" : "")"
        }
        /// The query's `depth`-th page (the earlier ones are read to find its cursor, untimed).
        func deep(_ query: JobPageQuery, _ depth: Int) throws -> JobPageQuery {
            var query = query
            for _ in 1..<depth {
                guard let next = try store.jobPage(query).nextBeforeId else { break }
                query.beforeId = next
            }
            return query
        }
        try time("jobPage: no filter") { try page(JobPageQuery()) }
        for status in JobStatus.allCases {
            try time("jobPage: \(status.rawValue)") { try page(JobPageQuery(statuses: [status])) }
        }
        for status in [JobStatus.completed, .failed, .pending] {
            try time("jobPage: \(status.rawValue) + queue q1") { try page(JobPageQuery(statuses: [status], queue: "q1")) }
        }
        try time("jobPage: failed + cancelled") { try page(JobPageQuery(statuses: [.failed, .cancelled])) }
        try time("jobPage: type T7") { try page(JobPageQuery(objectType: "T7")) }
        try time("jobPage: queue q2 + type T7") { try page(JobPageQuery(queue: "q2", objectType: "T7")) }
        try time("jobPage: queue q2 + type T3 (never together)") { try page(JobPageQuery(queue: "q2", objectType: "T3")) }
        try time("jobPage: error contains 'timeout'") { try page(JobPageQuery(errorContains: "TIMEOUT")) }
        try time("jobPage: error contains 'disk full'") { try page(JobPageQuery(errorContains: "disk full")) }
        try time("jobPage: failed + error 'disk full'") { try page(JobPageQuery(statuses: [.failed], errorContains: "disk full")) }
        let deepAll = try deep(JobPageQuery(), 5)
        try time("jobPage: no filter, 5th page") { try page(deepAll) }
        let deepFailed = try deep(JobPageQuery(statuses: [.failed]), 5)
        try time("jobPage: failed, 5th page") { try page(deepFailed) }
        let deepType = try deep(JobPageQuery(statuses: [.completed], objectType: "T7"), 5)
        try time("jobPage: completed + type T7, 5th page") { try page(deepType) }
        let middle = JobPageQuery(beforeId: Int64(jobs / 2))
        try time("jobPage: no filter, from the middle") { try page(middle) }
        let oldFailed = JobPageQuery(statuses: [.failed], beforeId: Int64(jobs / 10))
        try time("jobPage: failed, from the oldest tenth") { try page(oldFailed) }
        try time("finishedPerMinute: last hour") {
            let tallies = try store.finishedPerMinute(since: now.addingTimeInterval(-3600))
            return "\(tallies.count) minutes, \(tallies.reduce(0) { $0 + $1.completed + $1.failed }) jobs"
        }
        try time("listQueues") { "\(try store.listQueues(now: now).count) queues" }
        try time("stats") {
            let stats = try store.stats(queue: nil)
            return "\(stats.pending + stats.running + stats.completed + stats.failed + stats.cancelled) jobs"
        }
        try time("stats: queue q1") { "\(try store.stats(queue: "q1").completed) completed" }
        print("read\tmedian ms\tmin ms\tresult")
        for (name, median, least, note) in rows {
            print("\(name)\t\(String(format: "%.2f", median))\t\(String(format: "%.2f", least))\t\(note)")
        }
    }
}
