import Foundation
import SmrtJobs
import SmrtJobsPostgres
import SmrtJobsSQLite

#if canImport(Glibc)
import Glibc
#endif

/// The dashboard phase: a queue of a busy hour (`DashboardFill`, 1,000,000 jobs), the real `smrt-dashboard` on it,
/// and the time every page, API endpoint and `/metrics` takes to answer, from a fresh loopback connection to the
/// last byte (`HTTPProbe`): `warmup` requests each, then `rounds` rounds over every endpoint in turn, so the
/// dashboard's own background refresh and the machine's load fall on all of them alike.
struct DashboardBench {
    let dashboard: String
    let dir: String
    let queues: QueueSource

    struct Timing {
        var name: String
        var path: String
        var samplesMs: [Double]
        var bytes: Int
    }

    struct Outcome {
        var shape: DashboardFill.Shape
        var fillSeconds: Double
        var timings: [Timing]
        /// How long the dashboard's background read of counts, tallies, leases and schedules took (its API's
        /// `freshness.refreshMilliseconds` at the end).
        var refreshMs: Double?
        /// The dashboard's CPU over the timed rounds, % of one core.
        var cpuPercent: Double?
    }

    func run(total: Int, supervisors: Int, rounds: Int, warmup: Int) throws -> Outcome {
        let queue = try queues.make("dashboard")
        defer { queue.close() }
        let shape = DashboardFill.Shape(total: total)
        let now = Date()
        let fillStart = monotonicNs()
        try DashboardFill.fill(queue, shape: shape, supervisors: supervisors, now: now)
        let fillSeconds = Double(monotonicNs() - fillStart) / 1e9
        try check(queue, shape)
        Progress.say("dashboard: \(formatNumber(Double(total))) jobs, \(supervisors) leases, 20 schedules in \(formatNumber(fillSeconds)) s")

        let out = "\(dir)/dashboard.out", err = "\(dir)/dashboard.log"
        let pid = try spawnProcess(dashboard, ["--db", queue.db, "--listen", "127.0.0.1:0"], stdout: .file(out), stderr: .file(err))
        defer { stopProcess(pid) }
        let port = try waitForPort(pid: pid, out: out, err: err)
        try waitForCounts(port: port, err: err)
        let endpoints = try discover(port: port)

        for (name, path) in endpoints {
            for _ in 0..<warmup {
                let response = try HTTPProbe.get(port: port, path: path)
                guard response.status == 200 else {
                    throw BenchError("dashboard: \(name) GET \(path) answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
                }
            }
        }
        var samples = [[Double]](repeating: [], count: endpoints.count)
        var bytes = [Int](repeating: 0, count: endpoints.count)
        let cpuBefore = processCPUSeconds(pid)
        let timedStart = monotonicNs()
        for _ in 0..<rounds {
            for (index, (name, path)) in endpoints.enumerated() {
                let response = try HTTPProbe.get(port: port, path: path)
                guard response.status == 200 else { throw BenchError("dashboard: \(name) GET \(path) answered \(response.status)") }
                samples[index].append(response.milliseconds)
                bytes[index] = response.body.count
            }
        }
        let wall = Double(monotonicNs() - timedStart) / 1e9
        let cpu = processCPUSeconds(pid).flatMap { after in cpuBefore.map { (after - $0) / wall * 100 } }
        let freshness = (try? json(port: port, path: "/api/overview"))?["freshness"] as? [String: Any]
        let refresh = (freshness?["refreshMilliseconds"] as? NSNumber)?.doubleValue
        let timings = endpoints.enumerated().map { index, endpoint in
            Timing(name: endpoint.name, path: endpoint.path, samplesMs: samples[index], bytes: bytes[index])
        }
        return Outcome(shape: shape, fillSeconds: fillSeconds, timings: timings, refreshMs: refresh, cpuPercent: cpu)
    }

    /// The fill made what it says: jobs per status.
    func check(_ queue: BenchQueue, _ shape: DashboardFill.Shape) throws {
        let expected: [(String, Int)] = [
            ("completed", shape.completed), ("failed", shape.failed), ("cancelled", shape.cancelled),
            ("running", shape.running), ("pending", shape.pending),
        ]
        for (status, count) in expected {
            let found = Int(try queue.text("SELECT count(*) FROM _smrt_jobs WHERE status = '\(status)'") ?? "") ?? -1
            if found != count { throw BenchError("dashboard fill: \(found) \(status) jobs, expected \(count)") }
        }
    }

    /// The port of the URL on the dashboard's first line of stdout.
    func waitForPort(pid: pid_t, out: String, err: String) throws -> UInt16 {
        let deadline = monotonicNs() + 30_000_000_000
        while monotonicNs() < deadline {
            if let text = readFile(out), let newline = text.firstIndex(of: "\n") {
                let url = String(text[..<newline])
                guard let components = URLComponents(string: url), let port = components.port, port > 0, port < 65_536 else {
                    throw BenchError("dashboard: its first line is not a URL with a port: '\(url)'")
                }
                return UInt16(port)
            }
            if let status = waitFor(pid, timeoutMs: 0) {
                throw BenchError("smrt-dashboard exited (wait status \(status)) before printing its URL: \(readFile(err) ?? "")")
            }
            usleep(20_000)
        }
        throw BenchError("smrt-dashboard printed no URL within 30 s: \(readFile(err) ?? "")")
    }

    /// Waits (up to 2 minutes) until the dashboard has read its counts once: the overview answers 200, not 503.
    func waitForCounts(port: UInt16, err: String) throws {
        let start = monotonicNs()
        let deadline = start + 120_000_000_000
        while true {
            let response = try HTTPProbe.get(port: port, path: "/api/overview")
            if response.status == 200 {
                Progress.say("dashboard: first counts after \(formatNumber(Double(monotonicNs() - start) / 1e6)) ms")
                return
            }
            if response.status != 503 || monotonicNs() > deadline {
                throw BenchError("dashboard: /api/overview answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))\n\(readFile(err) ?? "")")
            }
            usleep(100_000)
        }
    }

    func json(port: UInt16, path: String) throws -> [String: Any] {
        let response = try HTTPProbe.get(port: port, path: path)
        guard response.status == 200, let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw BenchError("dashboard: GET \(path) answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
        }
        return object
    }

    /// The cursor `pages` pages down a job list (following `nextBefore`).
    func cursor(port: UInt16, query: String, pages: Int) throws -> Int64 {
        var before: Int64?
        for page in 0..<pages {
            let path = "/api/jobs?" + query + (before.map { (query.isEmpty ? "" : "&") + "before=\($0)" } ?? "")
            guard let next = (try json(port: port, path: path)["nextBefore"] as? NSNumber)?.int64Value else {
                throw BenchError("dashboard: \(path) has no next page after \(page) pages")
            }
            before = next
        }
        return before!
    }

    /// Every page and endpoint timed, each as a page and as its API: name and path.
    func discover(port: UInt16) throws -> [(name: String, path: String)] {
        guard let failed = (try json(port: port, path: "/api/jobs?status=failed")["jobs"] as? [[String: Any]])?.first,
            let failedId = (failed["id"] as? NSNumber)?.int64Value
        else { throw BenchError("dashboard: /api/jobs?status=failed lists no job") }
        let deep = try cursor(port: port, query: "", pages: 5)
        let deepFailed = try cursor(port: port, query: "status=failed", pages: 5)
        var lists: [(String, String)] = [("jobs", ""), ("jobs_page6", "before=\(deep)")]
        for status in JobStatus.allCases { lists.append(("jobs_\(status.rawValue)", "status=\(status.rawValue)")) }
        lists += [
            ("jobs_failed_page6", "status=failed&before=\(deepFailed)"),
            // Type Tn only ever runs on queue q(n mod 5): one pair meets on 1 job in 20, the other never.
            ("jobs_queue_type", "queue=q1&type=T6"),
            ("jobs_queue_type_never", "queue=q0&type=T6"),
            ("jobs_pending_queue", "status=pending&queue=q3"),
            ("jobs_error_common", "error=timeout"),
            ("jobs_error_rare", "error=disk%20full"),
            ("jobs_failed_error_rare", "status=failed&error=disk%20full"),
        ]
        var endpoints: [(name: String, path: String)] = [("overview", "/"), ("api_overview", "/api/overview"), ("api_queues", "/api/queues")]
        for (name, query) in lists {
            endpoints.append((name, "/jobs" + (query.isEmpty ? "" : "?" + query)))
            endpoints.append(("api_" + name, "/api/jobs" + (query.isEmpty ? "" : "?" + query)))
        }
        endpoints += [
            ("job", "/jobs/\(failedId)"), ("api_job", "/api/jobs/\(failedId)"),
            ("supervisors", "/supervisors"), ("api_supervisors", "/api/supervisors"),
            ("schedules", "/schedules"), ("api_schedules", "/api/schedules"),
            ("metrics", "/metrics"),
        ]
        return endpoints
    }
}
