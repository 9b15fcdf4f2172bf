import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

@main
struct SmrtBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smrt-bench",
        abstract: "Measures smrt-jobs against the raw limits of its machine (see docs/performance.md).",
        subcommands: [Run.self, Reads.self, PingpongChild.self, Profile.self],
        defaultSubcommand: Run.self)
}

/// How much work each phase does.
struct BenchConfig {
    var reps: Int
    var pingpongRounds: Int
    var sqliteInserts: Int
    var sqliteBatchRows: Int
    var claimCompletes: Int
    var enqueueSingle: Int
    var enqueueBatchRows: Int
    var batchSize = 64
    var e2eJobs: Int
    var pickupSamples: Int
    var killJobs: Int
    var backlogMeasured: Int
    var backlogSmall: Int
    var backlogLarge: Int
    /// Jobs the `memory` phase burns down while it samples the supervisor's resident memory.
    var memoryJobs: Int
    var scalingReps = 3
    var churnJobs = 200
    var churnSleepMs = 60
    var idleSeconds: Double = 10
    var idleWorkers = 4
    // PostgreSQL (--db): rows per measurement of the raw limits and the store loops.
    var pgInserts = 2_000
    var pgBatchRows = 32_000
    var pgClaimCompletes = 2_000
    var pgClaimBatchRows = 32_000

    static let quick = BenchConfig(
        reps: 3, pingpongRounds: 30_000, sqliteInserts: 5_000, sqliteBatchRows: 64_000, claimCompletes: 5_000,
        enqueueSingle: 5_000, enqueueBatchRows: 64_000, e2eJobs: 5_000, pickupSamples: 50, killJobs: 20,
        backlogMeasured: 5_000, backlogSmall: 10_000, backlogLarge: 200_000, memoryJobs: 100_000)

    static let full = BenchConfig(
        reps: 5, pingpongRounds: 100_000, sqliteInserts: 20_000, sqliteBatchRows: 320_000, claimCompletes: 20_000,
        enqueueSingle: 20_000, enqueueBatchRows: 320_000, e2eJobs: 50_000, pickupSamples: 200, killJobs: 100,
        backlogMeasured: 5_000, backlogSmall: 10_000, backlogLarge: 1_000_000, memoryJobs: 1_000_000,
        pgInserts: 10_000, pgBatchRows: 128_000, pgClaimCompletes: 10_000, pgClaimBatchRows: 128_000)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the benchmark (the default).")

    @Flag(help: "A shorter run (under 3 minutes on 2 cores).")
    var quick = false

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Option(help: "Only these phases, comma-separated: limits,enqueue,e2e,latency,kill,churn,scaling,memory,idle,dashboard (the last not in --quick by default).")
    var only: String?

    @Option(help: "Jobs in the dashboard phase's database.")
    var dashboardJobs = 1_000_000

    @Option(help: "Supervisors (lease rows with a snapshot each) in the dashboard phase's database.")
    var dashboardSupervisors = 2

    @Option(help: "Where smrt-supervisor and smrt-demo-worker are (default: next to this executable).")
    var binDir: String?

    @Option(help: "Swift version text for the report (scripts/bench.sh passes it).")
    var swiftVersion: String?

    @Option(help: "libuv version for the report (scripts/bench.sh passes it).")
    var libuvVersion: String?

    @Flag(help: "Keep the temporary directory (databases, supervisor logs) and, with --db, the PostgreSQL schemas.")
    var keep = false

    @Option(help: "Measure the PostgreSQL backend of this database (postgresql://…, no `options`): each measurement in a fresh schema of its own, dropped at the end unless --keep. Without it: SQLite.")
    var db: String?

    func run() throws {
        Children.installSignalHandlers()
        fixHeapTrim()
        Progress.startNs = monotonicNs()
        let config = quick ? BenchConfig.quick : BenchConfig.full
        let defaultPhases = (db == nil ? "limits,enqueue,e2e,latency,kill,churn,scaling,memory,idle" : "limits,enqueue,e2e,latency,kill,churn,idle")
            + (quick ? "" : ",dashboard")
        var phases = Set((only ?? defaultPhases).split(separator: ",").map(String.init))
        let machine = Machine.current(swiftVersion: swiftVersion, libuvVersion: libuvVersion)
        let results = Results(mode: quick ? "quick" : "full", postgres: db != nil)
        let dir = try makeTempDir(prefix: "smrt-bench")
        Progress.say("smrt-bench (\(results.mode)) on \(machine.summary); load \(machine.loadAverage); temp \(dir)")
        let pg = try db.map { try PostgresBench(url: $0, keep: keep) }
        defer {
            Children.killAll()
            pg?.dropAll()
            if keep { Progress.say("kept \(dir)") } else { try? FileManager.default.removeItem(atPath: dir) }
        }
        if let pg {
            let info = pg.serverInfo()
            results.setInfo("postgres", info)
            Progress.say("PostgreSQL \(pg.displayName): \(info.render().split(separator: "\n").joined(separator: " "))")
            if pg.serverPid == nil { results.note("the PostgreSQL server is not a local process: server CPU per job not measured") }
            if phases.remove("scaling") != nil { results.note("scaling: not run on PostgreSQL (SQLite only)") }
            if phases.remove("memory") != nil { results.note("memory: not run on PostgreSQL (SQLite only)") }
        }

        if phases.contains("limits") || phases.contains("enqueue") {
            if let pg {
                try runPostgresLimitsAndEnqueue(config, phases, results, pg)
            } else {
                try runLimitsAndEnqueue(config, phases, results, dir)
            }
        }
        let supervisorPhases = ["e2e", "latency", "kill", "churn", "scaling", "memory", "idle"].filter(phases.contains)
        if !supervisorPhases.isEmpty {
            let bin = binDir ?? (selfExecutablePath() as NSString).deletingLastPathComponent
            let supervisor = bin + "/smrt-supervisor"
            let worker = bin + "/smrt-demo-worker"
            if let problem = SupervisorCheck.problem(supervisor: supervisor, worker: worker) {
                results.note("supervisor phases (\(supervisorPhases.joined(separator: ", "))) not run: \(problem)")
            } else {
                let queues: QueueSource = pg.map { .postgres($0) } ?? .sqlite(dir: dir)
                try runSupervisorPhases(
                    config, phases, results, SupervisorBench(supervisor: supervisor, worker: worker, dir: dir, queues: queues))
            }
        }

        if phases.contains("dashboard") {
            let dashboard = (binDir ?? (selfExecutablePath() as NSString).deletingLastPathComponent) + "/smrt-dashboard"
            if FileManager.default.isExecutableFile(atPath: dashboard) {
                let queues: QueueSource = pg.map { .postgres($0) } ?? .sqlite(dir: dir)
                try runDashboardPhase(results, DashboardBench(dashboard: dashboard, dir: dir, queues: queues))
            } else {
                results.note("dashboard phase not run: \(dashboard) not found (build it: swift build -c release)")
            }
        }

        Progress.say("done")
        print(results.table(machine: machine), terminator: "")
        if let json {
            let text = results.json(machine: machine.json).render() + "\n"
            try text.write(toFile: json, atomically: true, encoding: .utf8)
            Progress.say("wrote \(json)")
        }
    }

    func measurePingpong(_ c: BenchConfig, _ results: Results) throws {
        func median(_ xs: [Double]) -> Double? { percentile(xs, 50) }
        var rates: [Double] = []
        var sizes = (0, 0)
        for _ in 0..<c.reps {
            let r = try Pingpong.measure(rounds: c.pingpongRounds)
            rates.append(r.perSecond)
            sizes = (r.runBytes, r.replyBytes)
        }
        results.set("limits.pingpong_rt_per_s", median(rates))
        results.setInfo("limits.pingpong_frame_bytes", .object([("run", .int(Int64(sizes.0))), ("reply", .int(Int64(sizes.1)))]))
        Progress.say("pingpong: \(formatNumber(median(rates) ?? 0)) round trips/s (\(sizes.0)-byte RUN, \(sizes.1)-byte reply; runs \(rates.map(formatNumber).joined(separator: ", ")))")
        // Context, not a target: the same loop against the real demo worker.
        let worker = (binDir ?? (selfExecutablePath() as NSString).deletingLastPathComponent) + "/smrt-demo-worker"
        if FileManager.default.isExecutableFile(atPath: worker) {
            var workerRates: [Double] = []
            for _ in 0..<c.reps { workerRates.append(try Pingpong.measureWorker(worker, rounds: c.pingpongRounds / 2)) }
            results.setInfo("context.worker_noop_rt_per_s", .number(median(workerRates)!))
            Progress.say("demo worker round trips (RUN noop -> RESULT_OK, no supervisor): \(formatNumber(median(workerRates)!))/s (runs \(workerRates.map(formatNumber).joined(separator: ", ")))")
            // Protocol 4: the next RUN queued while a job runs (one queued, as `--pipeline 2` would).
            var pipelinedRates: [Double] = []
            for _ in 0..<c.reps {
                pipelinedRates.append(try Pingpong.measureWorker(worker, rounds: c.pingpongRounds / 2, inFlight: 2))
            }
            results.setInfo("context.worker_noop_pipelined_per_s", .number(median(pipelinedRates)!))
            Progress.say("demo worker, 2 RUNs in flight (protocol 4 pipelining, no supervisor): \(formatNumber(median(pipelinedRates)!)) jobs/s (runs \(pipelinedRates.map(formatNumber).joined(separator: ", ")))")
        }
    }

    /// Median of `reps` runs of each measurement, interleaved so a store figure and its raw limit see the
    /// same machine load.
    func runLimitsAndEnqueue(_ c: BenchConfig, _ phases: Set<String>, _ results: Results, _ dir: String) throws {
        func median(_ xs: [Double]) -> Double? { percentile(xs, 50) }
        let limits = phases.contains("limits")
        let enqueue = phases.contains("enqueue")
        if limits { try measurePingpong(c, results) }
        var raw: [Double] = [], single: [Double] = []
        var rawBatch: [Double] = [], batch: [Double] = []
        var claim: [Double] = [], storeClaim: [Double] = []
        for round in 1...c.reps {
            if limits { raw.append(try RawSQLiteBench.insertSingle(dir: dir, count: c.sqliteInserts)) }
            if enqueue { single.append(try EnqueueBench.single(dir: dir, count: c.enqueueSingle)) }
            if limits { rawBatch.append(try RawSQLiteBench.insertBatch(dir: dir, count: c.sqliteBatchRows, batch: c.batchSize)) }
            if enqueue { batch.append(try EnqueueBench.batch(dir: dir, count: c.enqueueBatchRows, batch: c.batchSize)) }
            if limits { claim.append(try RawSQLiteBench.claimComplete(dir: dir, count: c.claimCompletes)) }
            if enqueue { storeClaim.append(try StoreClaimBench.claimComplete(dir: dir, count: c.claimCompletes)) }
            Progress.say("sqlite and enqueue round \(round) of \(c.reps) done")
        }
        results.setMedian("limits.sqlite_insert_per_s", raw, "raw sqlite insert, 1 row/transaction")
        results.setMedian("enqueue.single_per_s", single, "store.enqueue, 1 job/transaction")
        results.setMedian("limits.sqlite_batch_insert_per_s", rawBatch, "raw sqlite insert, \(c.batchSize) rows/transaction")
        results.setMedian("enqueue.batch_per_s", batch, "store.enqueue(batch:), \(c.batchSize) jobs/transaction")
        results.setMedian("limits.sqlite_claim_complete_per_s", claim, "raw sqlite claim 1 + complete")
        if !storeClaim.isEmpty {
            // Context, not a target: the store's claim + complete without IPC.
            results.setInfo("store.claim_complete_per_s", .number(median(storeClaim)!))
            Progress.say("store claim 1 + complete: \(formatNumber(median(storeClaim)!))/s (runs \(storeClaim.map(formatNumber).joined(separator: ", ")))")
        }
        if enqueue { results.setInfo("enqueue.batch_size", .int(Int64(c.batchSize))) }
    }

    /// The PostgreSQL limits (raw libpq loops with the store's statements) and the store's enqueue, interleaved
    /// as on SQLite; median of each.
    func runPostgresLimitsAndEnqueue(_ c: BenchConfig, _ phases: Set<String>, _ results: Results, _ pg: PostgresBench) throws {
        func median(_ xs: [Double]) -> Double? { percentile(xs, 50) }
        let limits = phases.contains("limits")
        let enqueue = phases.contains("enqueue")
        if limits { try measurePingpong(c, results) }
        var raw: [Double] = [], single: [Double] = []
        var rawBatch: [Double] = [], batch: [Double] = []
        var claim1: [Double] = [], claim2: [Double] = [], claim64: [Double] = [], claim64Rows: [Double] = []
        var storeClaim: [Double] = []
        for round in 1...c.reps {
            if limits { raw.append(try RawPostgresBench.insertSingle(pg, count: c.pgInserts)) }
            if enqueue { single.append(try PostgresStoreBench.single(pg, count: c.pgInserts)) }
            if limits { rawBatch.append(try RawPostgresBench.insertBatch(pg, count: c.pgBatchRows, batch: c.batchSize)) }
            if enqueue { batch.append(try PostgresStoreBench.batch(pg, count: c.pgBatchRows, batch: c.batchSize)) }
            if limits {
                claim1.append(try RawPostgresBench.claimComplete(pg, count: c.pgClaimCompletes, batch: 1, connections: 1))
                claim2.append(try RawPostgresBench.claimComplete(pg, count: c.pgClaimCompletes, batch: 1, connections: 2))
                claim64.append(try RawPostgresBench.claimComplete(
                    pg, count: c.pgClaimBatchRows, batch: c.batchSize, connections: 1, setBased: true))
                claim64Rows.append(try RawPostgresBench.claimComplete(pg, count: c.pgClaimBatchRows, batch: c.batchSize, connections: 1))
            }
            if enqueue { storeClaim.append(try PostgresStoreBench.claimComplete(pg, count: c.pgClaimCompletes)) }
            Progress.say("postgres limits and enqueue round \(round) of \(c.reps) done")
        }
        results.setMedian("limits.pg_insert_per_s", raw, "raw libpq insert, 1 row/statement")
        results.setMedian("enqueue.single_per_s", single, "store.enqueue, 1 job/transaction")
        results.setMedian("limits.pg_batch_insert_per_s", rawBatch, "raw libpq insert, \(c.batchSize) rows/statement")
        results.setMedian("enqueue.batch_per_s", batch, "store.enqueue(batch:), \(c.batchSize) jobs/transaction")
        results.setMedian("limits.pg_claim_complete_per_s", claim1, "raw libpq complete + claim, 1 job/transaction, 1 connection")
        results.setMedian("limits.pg_claim_complete_2conn_per_s", claim2, "raw libpq complete + claim, 1 job/transaction, 2 connections")
        results.setMedian("limits.pg_claim_complete_batch64_per_s", claim64, "raw libpq complete (one UPDATE … id = ANY) + claim, \(c.batchSize) jobs/transaction")
        if !claim64Rows.isEmpty {
            // Context: the same with one complete UPDATE per job (what `finish` ran before it completed a batch at once).
            results.setInfo("context.pg_claim_complete_batch64_rowwise_per_s", .number(median(claim64Rows)!))
            Progress.say("raw libpq complete (one UPDATE per job) + claim, \(c.batchSize) jobs/transaction: \(formatNumber(median(claim64Rows)!))/s (runs \(claim64Rows.map(formatNumber).joined(separator: ", ")))")
        }
        if !storeClaim.isEmpty {
            results.setInfo("store.claim_complete_per_s", .number(median(storeClaim)!))
            Progress.say("store claim 1 + complete: \(formatNumber(median(storeClaim)!))/s (runs \(storeClaim.map(formatNumber).joined(separator: ", ")))")
        }
        if enqueue { results.setInfo("enqueue.batch_size", .int(Int64(c.batchSize))) }
    }

    /// PostgreSQL's own cost per job of an e2e run (enqueue in batches of 1,000, then the burn-down); the w2 run
    /// gives the `pg_cost.*` figures and the capacity estimate.
    func reportCost(_ results: Results, workers: Int, enqueue: PostgresBench.Cost, run: PostgresBench.Cost) {
        func sum(_ a: Double?, _ b: Double?) -> Double? { a.flatMap { x in b.map { x + $0 } } }
        let total: [(String, Double?)] = [
            ("statements_per_job", sum(enqueue.statementsPerJob, run.statementsPerJob)),
            ("commits_per_job", sum(enqueue.commitsPerJob, run.commitsPerJob)),
            ("exec_us_per_job", sum(enqueue.execUsPerJob, run.execUsPerJob)),
            ("wal_bytes_per_job", enqueue.walBytesPerJob + run.walBytesPerJob),
            ("server_cpu_us_per_job", sum(enqueue.serverCPUUsPerJob, run.serverCPUUsPerJob)),
        ]
        results.setInfo("pg_cost.by_workers.w\(workers)", .object([
            ("enqueue", enqueue.json), ("run", run.json),
            ("total", .object(total.map { ($0.0, $0.1.map(JSONOut.number) ?? .null) })),
            ("run_statements", .array(run.topStatements.map { s in
                .object([("query", .string(s.query)), ("per_job", .number(s.perJob)), ("exec_us_per_job", .number(s.execUs))])
            })),
        ]))
        Progress.say("postgres cost w\(workers) per job: enqueue \(costLine(enqueue)); run \(costLine(run))")
        for s in run.topStatements.prefix(8) {
            Progress.say("  \(String(format: "%6.3f", s.perJob))/job \(String(format: "%7.1f", s.execUs)) µs/job  \(s.query)")
        }
        guard workers == 2 else { return }
        for (key, value) in total { results.set("pg_cost.\(key)", value) }
        // Capacity: server CPU per job (whole life: enqueue + claim + complete) at 70 % of every core.
        if let cpu = total[4].1, cpu > 0 {
            results.set("capacity.jobs_per_s_8_cores", 8 * 0.7 * 1e6 / cpu)
            results.set("capacity.jobs_per_s_32_cores", 32 * 0.7 * 1e6 / cpu)
            results.setInfo("capacity.assumptions", .string(
                "server CPU per job of the e2e w2 run (enqueue by 1,000 + burn-down) at 70 % of each core; clients elsewhere; "
                    + "WAL device and commit flushes not the bottleneck; per-job cost unchanged at scale"))
            results.setInfo("capacity.wal_mb_per_s_8_cores", .number(8 * 0.7 * 1e6 / cpu * (total[3].1 ?? 0) / 1e6))
            results.setInfo("capacity.wal_mb_per_s_32_cores", .number(32 * 0.7 * 1e6 / cpu * (total[3].1 ?? 0) / 1e6))
        }
    }

    func costLine(_ c: PostgresBench.Cost) -> String {
        func f(_ x: Double?) -> String { x.map(formatNumber) ?? "?" }
        return "\(f(c.statementsPerJob)) statements, \(f(c.commitsPerJob)) commits, \(f(c.execUsPerJob)) µs exec, "
            + "\(formatNumber(c.walBytesPerJob)) WAL bytes, \(f(c.serverCPUUsPerJob)) µs server CPU (\(f(c.serverCPUPercent)) % of a core)"
    }

    func runDashboardPhase(_ results: Results, _ bench: DashboardBench) throws {
        let r = try bench.run(total: dashboardJobs, supervisors: dashboardSupervisors, rounds: 20, warmup: 3)
        results.dashboardRows = r.timings
        results.set("dashboard.worst_p99_ms", r.timings.compactMap { percentile($0.samplesMs, 99) }.max())
        func ms(_ x: Double?) -> JSONOut { x.map { .number(($0 * 10).rounded() / 10) } ?? .null }
        results.setInfo("dashboard.jobs", .int(Int64(r.shape.total)))
        results.setInfo("dashboard.supervisors", .int(Int64(dashboardSupervisors)))
        results.setInfo("dashboard.fill_seconds", .number(r.fillSeconds))
        results.setInfo("dashboard.requests_per_endpoint", .int(20))
        results.setInfo("dashboard.refresh_ms", ms(r.refreshMs))
        results.setInfo("dashboard.cpu_percent_while_timed", ms(r.cpuPercent))
        results.setInfo("dashboard.endpoints", .array(r.timings.map { t in
            .object([
                ("name", .string(t.name)), ("path", .string(t.path)), ("p50_ms", ms(percentile(t.samplesMs, 50))),
                ("p99_ms", ms(percentile(t.samplesMs, 99))), ("max_ms", ms(percentile(t.samplesMs, 100))),
                ("bytes", .int(Int64(t.bytes))),
            ])
        }))
        let slow = r.timings.filter { (percentile($0.samplesMs, 99) ?? 0) > Results.dashboardTargetMs }
        Progress.say("dashboard: \(r.timings.count) endpoints × 20 requests; slowest p99 \(formatNumber(r.timings.compactMap { percentile($0.samplesMs, 99) }.max() ?? .nan)) ms; background refresh \(r.refreshMs.map(formatNumber) ?? "?") ms; dashboard CPU \(r.cpuPercent.map(formatNumber) ?? "?") % while timed")
        for t in slow { results.note("dashboard: \(t.path) p99 \(formatNumber(percentile(t.samplesMs, 99)!)) ms > 100 ms") }
    }

    func runSupervisorPhases(_ c: BenchConfig, _ phases: Set<String>, _ results: Results, _ bench: SupervisorBench) throws {
        if phases.contains("e2e") {
            for workers in [1, 2, 4] {
                let (r, enqueueCost, runCost) = try bench.e2e(workers: workers, jobs: c.e2eJobs, cost: bench.queues.postgres != nil)
                results.set("e2e.noop_per_s.w\(workers)", r.perSecond)
                if let enqueueCost, let runCost {
                    reportCost(results, workers: workers, enqueue: enqueueCost, run: runCost)
                }
                Progress.say("e2e w\(workers): \(formatNumber(r.perSecond)) jobs/s (\(r.completed) completed, \(r.failed) failed)")
                if r.timedOut { results.note("e2e w\(workers) timed out after \(r.completed) of \(c.e2eJobs) jobs") }
                if r.failed > 0 { results.note("e2e w\(workers): \(r.failed) noop jobs failed") }
            }
            results.setInfo("e2e.jobs", .int(Int64(c.e2eJobs)))
        }
        if phases.contains("latency") {
            let r = try bench.pickup(samples: c.pickupSamples)
            results.set("latency.pickup_p50_ms", percentile(r.samplesMs, 50))
            results.set("latency.pickup_p99_ms", percentile(r.samplesMs, 99))
            results.setInfo("latency.samples", .int(Int64(r.samplesMs.count)))
            results.setInfo("latency.pickup_max_ms", percentile(r.samplesMs, 100).map(JSONOut.number) ?? .null)
            Progress.say("pickup: p50 \(formatNumber(percentile(r.samplesMs, 50) ?? .nan)) ms, p99 \(formatNumber(percentile(r.samplesMs, 99) ?? .nan)) ms over \(r.samplesMs.count) jobs")
            if r.missed > 0 { results.note("pickup: \(r.missed) of \(c.pickupSamples) jobs not picked up within 5 s") }
        }
        if phases.contains("kill") {
            let r = try bench.kills(count: c.killJobs)
            results.set("kill.late_p99_ms", percentile(r.lateMs, 99))
            results.set("kill.early_count", r.lateMs.isEmpty ? nil : Double(r.lateMs.filter { $0 < 0 }.count))
            results.set("respawn.p50_ms", percentile(r.respawnMs, 50))
            results.setInfo("kill.samples", .int(Int64(r.lateMs.count)))
            results.setInfo("kill.late_p50_ms", percentile(r.lateMs, 50).map(JSONOut.number) ?? .null)
            results.setInfo("kill.late_max_ms", percentile(r.lateMs, 100).map(JSONOut.number) ?? .null)
            results.setInfo("kill.source", .string(r.source))
            results.setInfo("respawn.samples", .int(Int64(r.respawnMs.count)))
            if let p99 = percentile(r.respawnMs, 99) { results.set("respawn.p99_ms", p99) }
            Progress.say("kill: late p50 \(formatNumber(percentile(r.lateMs, 50) ?? .nan)) ms, p99 \(formatNumber(percentile(r.lateMs, 99) ?? .nan)) ms, \(r.lateMs.filter { $0 < 0 }.count) early, over \(r.lateMs.count) kills (\(r.source))")
            Progress.say("respawn: p50 \(formatNumber(percentile(r.respawnMs, 50) ?? .nan)) ms over \(r.respawnMs.count) respawns")
            if r.lateMs.count < r.jobs { results.note("kill: \(r.lateMs.count) kill samples for \(r.jobs) spin jobs") }
            if r.respawnMs.isEmpty { results.note("respawn: no worker exit -> ready pairs found in the supervisor log") }
        }
        if phases.contains("scaling") {
            // Interleaved runs on copies of two prebuilt files, median of each: one run is only a few seconds
            // and the machine's load moves more than the effect measured.
            let smallTemplate = try bench.buildBacklog(c.backlogSmall)
            let largeTemplate = try bench.buildBacklog(c.backlogLarge)
            var small: [Double] = [], large: [Double] = []
            var timedOut = false
            for round in 1...c.scalingReps {
                let s = try bench.backlog(measured: c.backlogMeasured, template: smallTemplate, name: "backlog-small-\(round)")
                let l = try bench.backlog(measured: c.backlogMeasured, template: largeTemplate, name: "backlog-large-\(round)")
                small.append(s.perSecond)
                large.append(l.perSecond)
                timedOut = timedOut || s.timedOut || l.timedOut
                Progress.say("backlog round \(round) of \(c.scalingReps): \(formatNumber(Double(c.backlogSmall))) pending \(formatNumber(s.perSecond)) jobs/s, \(formatNumber(Double(c.backlogLarge))) pending \(formatNumber(l.perSecond)) jobs/s (first \(c.backlogMeasured))")
            }
            removeDatabase(smallTemplate)
            removeDatabase(largeTemplate)
            let smallRate = percentile(small, 50)!, largeRate = percentile(large, 50)!
            results.set("scaling.backlog_ratio", largeRate / smallRate)
            results.setInfo("scaling.backlog_jobs", .int(Int64(c.backlogLarge)))
            results.setInfo("scaling.baseline_jobs", .int(Int64(c.backlogSmall)))
            results.setInfo("scaling.measured_jobs", .int(Int64(c.backlogMeasured)))
            results.setInfo("scaling.per_s_baseline", .number(smallRate))
            results.setInfo("scaling.per_s_backlog", .number(largeRate))
            results.setInfo("scaling.runs", .int(Int64(c.scalingReps)))
            if timedOut { results.note("scaling: a run timed out before \(c.backlogMeasured) completions") }
        }
        if phases.contains("memory") {
            let r = try bench.memory(jobs: c.memoryJobs)
            results.set("memory.rss_max_mb", r.maxMB)
            results.set("memory.rss_growth_mb", r.lastMB - r.afterFirstTenthMB)
            results.setInfo("memory.jobs", .int(Int64(r.completed)))
            results.setInfo("memory.samples", .int(Int64(r.samples)))
            results.setInfo("memory.rss_after_first_tenth_mb", .number(r.afterFirstTenthMB))
            results.setInfo("memory.rss_last_mb", .number(r.lastMB))
            results.setInfo("memory.per_s", .number(r.perSecond))
            Progress.say("memory: \(formatNumber(Double(r.completed))) jobs at \(formatNumber(r.perSecond))/s, supervisor RSS max \(formatNumber(r.maxMB)) MB, \(formatNumber(r.afterFirstTenthMB)) MB after the first tenth, \(formatNumber(r.lastMB)) MB at the end")
            if r.timedOut { results.note("memory: the burn-down timed out before every job completed") }
        }
        if phases.contains("churn") {
            let r = try bench.churn(jobs: c.churnJobs, sleepMs: c.churnSleepMs)
            results.set("churn.releases_per_10k", Double(r.releases) * 10_000 / Double(r.jobs))
            results.setInfo("churn.jobs", .int(Int64(r.jobs)))
            results.setInfo("churn.releases", .int(Int64(r.releases)))
            results.setInfo("churn.extra_attempts", .int(Int64(r.retriedAttempts)))
            Progress.say("churn: \(r.releases) release(s) of held jobs over \(r.jobs) jobs of \(c.churnSleepMs) ms, \(formatNumber(r.seconds)) s")
        }
        if phases.contains("idle") {
            let r = try bench.idle(workers: c.idleWorkers, seconds: c.idleSeconds)
            results.set("idle.cpu_percent", r.supervisorPercent)
            results.setInfo("idle.seconds", .number(r.seconds))
            results.setInfo("idle.workers", .int(Int64(c.idleWorkers)))
            results.setInfo("idle.workers_cpu_percent", r.workersPercent.map(JSONOut.number) ?? .null)
            Progress.say("idle: supervisor \(formatNumber(r.supervisorPercent)) % CPU over \(formatNumber(r.seconds)) s (workers together \(r.workersPercent.map(formatNumber) ?? "?") %)")
        }
    }
}

/// Whether the supervisor binary is the real one (its CLI has --worker-exec).
enum SupervisorCheck {
    static func problem(supervisor: String, worker: String) -> String? {
        let files = FileManager.default
        if !files.isExecutableFile(atPath: supervisor) { return "\(supervisor) not found (build it: swift build -c release)" }
        if !files.isExecutableFile(atPath: worker) { return "\(worker) not found" }
        guard let probe = captureOutput(supervisor, ["--help"]) else { return "\(supervisor) --help did not finish" }
        if !probe.output.contains("--worker-exec") {
            return "\(supervisor) is not the real supervisor yet (its --help has no --worker-exec)"
        }
        return nil
    }
}

struct PingpongChild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong-child", abstract: "The other end of the pingpong limit (fd 3).", shouldDisplay: false)

    @Option var rounds: Int

    func run() throws {
        let status = Pingpong.child(rounds: rounds)
        if status != 0 { throw ExitCode(status) }
    }
}

/// One loop at a time, for `valgrind --tool=callgrind` (instruction counts per job; docs/performance.md).
struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one loop alone, for profiling: enqueue-single, enqueue-batch, store-claim-complete, "
            + "raw-insert, raw-batch, raw-claim-complete, pingpong, worker-noop, worker-noop-v3, worker-noop-pipelined.",
        shouldDisplay: false)

    @Argument var loop: String
    @Option var count = 2_000

    func run() throws {
        Children.installSignalHandlers()
        fixHeapTrim()
        let dir = try makeTempDir(prefix: "smrt-bench-profile")
        defer { Children.killAll(); try? FileManager.default.removeItem(atPath: dir) }
        let rate: Double
        switch loop {
        case "enqueue-single": rate = try EnqueueBench.single(dir: dir, count: count)
        case "enqueue-batch": rate = try EnqueueBench.batch(dir: dir, count: count, batch: 64)
        case "store-claim-complete": rate = try StoreClaimBench.claimComplete(dir: dir, count: count)
        case "raw-insert": rate = try RawSQLiteBench.insertSingle(dir: dir, count: count)
        case "raw-batch": rate = try RawSQLiteBench.insertBatch(dir: dir, count: count, batch: 64)
        case "raw-claim-complete": rate = try RawSQLiteBench.claimComplete(dir: dir, count: count)
        case "pingpong": rate = try Pingpong.measure(rounds: count).perSecond
        case "worker-noop", "worker-noop-v3", "worker-noop-pipelined":
            // v3: one RUN at a time without STARTED (the runtime before pipelining); pipelined: 2 RUNs in flight.
            rate = try Pingpong.measureWorker(
                (selfExecutablePath() as NSString).deletingLastPathComponent + "/smrt-demo-worker",
                arguments: loop == "worker-noop-v3" ? ["--protocol-version", "3"] : [], rounds: count,
                inFlight: loop == "worker-noop-pipelined" ? 2 : 1)
        default: throw ValidationError("unknown loop \(loop)")
        }
        print("\(loop): \(formatNumber(rate))/s over \(count)")
    }
}

/// glibc returns the top of the heap to the kernel when more than M_TRIM_THRESHOLD is free there, and adjusts
/// that threshold as the process frees large blocks. SQLite's per-statement ephemeral tables (see
/// docs/performance.md) then made one loop shrink and regrow the heap with brk(2) on every job (30,000 brk
/// calls in 10,000 raw claims, half its speed) depending on what the process had allocated before. A fixed
/// threshold makes every loop of the bench (raw and store alike) run under the same allocator behaviour.
func fixHeapTrim() {
    // mallopt(3) lives in <malloc.h>, which the Glibc module does not import; M_TRIM_THRESHOLD is -1.
    _ = glibcMallopt(-1, 64 << 20)
}

@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
