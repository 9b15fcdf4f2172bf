import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

/// `/metrics` of the built `smrt-dashboard` beside a real `smrt-supervisor`, read by the official Prometheus
/// parser (`prometheus_client.parser.text_string_to_metric_families`, Tests/python/parse_metrics.py) after the
/// supervisor ran a job that completes, one that fails, one that crashes (and is retried once), one killed at its
/// timeout and a schedule's job (run now through the API), and published them in its lease row.
@Suite(.enabled(if: ExternalTools.metricsMissing.isEmpty || ExternalTools.isCI, ExternalTools.skipReason(ExternalTools.metricsMissing)))
struct MetricsParserTests {
    /// One metric family as the parser gives it (counters named without `_total`, their samples with it).
    struct Family: Decodable {
        var name: String
        var type: String
        var documentation: String
        var samples: [Sample]
    }

    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double

        enum CodingKeys: String, CodingKey { case name, labels, value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            labels = try container.decode([String: String].self, forKey: .labels)
            // +Inf and NaN come as text ("inf", "nan").
            if let number = try? container.decode(Double.self, forKey: .value) {
                value = number
            } else {
                let text = try container.decode(String.self, forKey: .value)
                value = try #require(Double(text), "sample value '\(text)'")
            }
        }
    }

    /// The families the issue names: type and label names (besides the histograms' `le`).
    static let expected: [String: (type: String, labels: Set<String>)] = [
        "smrt_jobs": ("gauge", ["queue", "status"]),
        "smrt_queue_oldest_ready_seconds": ("gauge", ["queue"]),
        "smrt_schedule_last_success_timestamp_seconds": ("gauge", ["schedule"]),
        "smrt_supervisors": ("gauge", []),
        "smrt_jobs_finished": ("counter", ["supervisor", "queue", "type", "outcome"]),
        "smrt_job_duration_seconds": ("histogram", ["supervisor"]),
        "smrt_job_queue_wait_seconds": ("histogram", ["supervisor"]),
        "smrt_kill_lateness_seconds": ("histogram", ["supervisor"]),
        "smrt_worker_exits": ("counter", ["supervisor", "reason"]),
        "smrt_workers": ("gauge", ["supervisor", "state"]),
    ]

    @Test func theOfficialParserReadsTheClusterMetrics() async throws {
        try ExternalTools.require(ExternalTools.metricsMissing)
        try await BlockingWork.run {
            let cluster = try LiveCluster()
            try cluster.startSupervisor(workers: 2, arguments: ["--heartbeat-interval", "200"])
            try cluster.startDashboard()
            let schedule = try ScheduleRunner.createSchedule(
                AgentScheduleSpec(agentType: "Demo", cron: "0 0 1 1 *", method: "echo", methodArgs: ["from": "schedule"]),
                in: cluster.store)
            let completed = try cluster.enqueue("echo", ["hello": "metrics"])
            let failed = try cluster.enqueue("fail", ["message": "no customer"], maxAttempts: 1)
            let crashed = try cluster.enqueue("crash", ["signal": "SEGV"], maxAttempts: 2)
            let killed = try cluster.enqueue("spin", [:], maxAttempts: 1, timeout: 300, behavior: .kill)
            let run = try BlockingHTTP.request(cluster.url + "api/schedules/\(schedule.id)/run", method: "POST", json: "{}")
            #expect(run.status == 200, "\(run)")
            let fired = try #require(
                (try JSONSerialization.jsonObject(with: Data(run.body.utf8)) as? [String: Any])?["jobId"] as? NSNumber,
                "\(run)"
            ).int64Value

            try cluster.waitFor(completed, .completed)
            try cluster.waitFor(failed, .failed)
            try cluster.waitFor(crashed, .failed)
            try cluster.waitFor(killed, .failed)
            try cluster.waitFor(fired, .completed)
            let supervisorId = try #require(try cluster.store.listWorkers().first?.id, "no lease row\n\(cluster.context())")

            // Six attempts (the crash twice); the scrape shows them once a heartbeat has published them and the
            // dashboard has read that snapshot and its counts.
            var last = ""
            let text = try SpawnedProcess.eventually(
                "/metrics to show the six attempts", timeout: 30, context: { cluster.context() + "--- last scrape ---\n" + last }
            ) { () -> String? in
                let scrape = try BlockingHTTP.request(cluster.url + "metrics")
                last = scrape.description
                guard scrape.status == 200 else { return nil }
                last = scrape.body
                let ready = [
                    "smrt_job_duration_seconds_count{supervisor=\"\(supervisorId)\"} 6",
                    "smrt_kill_lateness_seconds_count{supervisor=\"\(supervisorId)\"} 1",
                    "smrt_jobs{queue=\"default\",status=\"failed\"} 3",
                    "smrt_schedule_last_success_timestamp_seconds{schedule=\"\(schedule.id)\"}",
                ]
                // Durations are counted when an attempt ends, outcomes when the database has recorded it: a snapshot
                // taken between the two has all six durations and five outcomes.
                let outcomes = scrape.body.split(separator: "\n")
                    .filter { $0.hasPrefix("smrt_jobs_finished_total{") && $0.contains("supervisor=\"\(supervisorId)\"") }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
                    .reduce(0, +)
                return ready.allSatisfy(scrape.body.contains) && outcomes == 6 ? scrape.body : nil
            }
            let scrapeFile = cluster.directory.path("metrics.txt")
            try text.write(toFile: scrapeFile, atomically: true, encoding: .utf8)
            let parsed = try cluster.python("parse_metrics.py", [scrapeFile], name: "parse-metrics", timeout: 60)
            try #require(parsed.exit == .exited(0), "parse_metrics.py \(parsed.exit): \(parsed.stderr)\n\(text)")
            let families = try JSONDecoder().decode([Family].self, from: Data(parsed.stdout.utf8))

            // Each family once, of its type, with its labels and never a job id, args or an error as a label.
            let names = families.map(\.name)
            #expect(names.count == Set(names).count, "a family appears more than once: \(names)")
            for (name, want) in Self.expected {
                let family = try #require(families.first { $0.name == name }, "no family \(name) in\n\(text)")
                #expect(family.type == want.type, "\(name) is a \(family.type)")
                #expect(!family.documentation.isEmpty, "\(name) has no HELP")
                for sample in family.samples {
                    #expect(Set(sample.labels.keys).subtracting(["le"]) == want.labels, "\(sample.name) \(sample.labels)")
                }
            }
            let allowed: Set<String> = ["queue", "status", "schedule", "supervisor", "type", "outcome", "reason", "state", "le"]
            for family in families where family.name.hasPrefix("smrt_") {
                for sample in family.samples {
                    #expect(Set(sample.labels.keys).isSubset(of: allowed), "\(sample.name) \(sample.labels)")
                    let leaked = sample.labels.values.filter { value in
                        ["metrics", "no customer", "SEGV", "from"].contains { value.contains($0) }
                    }
                    #expect(leaked.isEmpty, "an argument or error as a label value: \(sample.name) \(sample.labels)")
                }
            }

            func value(_ sampleName: String, _ labels: [String: String]) -> Double? {
                families.flatMap(\.samples).first { sample in
                    sample.name == sampleName && labels.allSatisfy { key, value in sample.labels[key] == value }
                }?.value
            }
            // The database's gauges.
            #expect(value("smrt_jobs", ["queue": "default", "status": "failed"]) == 3)
            #expect(value("smrt_jobs", ["queue": "default", "status": "completed"]) == 1)
            #expect(value("smrt_jobs", ["queue": "default", "status": "pending"]) == 0)
            let scheduledJob = try #require(try cluster.store.get(id: fired))
            #expect(value("smrt_jobs", ["queue": scheduledJob.queue, "status": "completed"]) == 1)
            #expect(value("smrt_supervisors", [:]) == 1)
            #expect(value("smrt_queue_oldest_ready_seconds", ["queue": "default"]) == 0)
            let lastRun = try #require(try cluster.store.getSchedule(id: schedule.id)?.lastRun)
            let exported = try #require(value("smrt_schedule_last_success_timestamp_seconds", ["schedule": String(schedule.id)]))
            #expect(abs(exported - lastRun.timeIntervalSince1970) < 0.001)

            // The supervisor's counters, from its snapshot.
            let own = ["supervisor": supervisorId, "type": "Demo"]
            #expect(value("smrt_jobs_finished_total", own.merging(["queue": "default", "outcome": "completed"]) { $1 }) == 1)
            #expect(value("smrt_jobs_finished_total", own.merging(["queue": "default", "outcome": "failed"]) { $1 }) == 3, "\(text)")
            #expect(value("smrt_jobs_finished_total", own.merging(["queue": "default", "outcome": "retried"]) { $1 }) == 1)
            #expect(value("smrt_jobs_finished_total", own.merging(["queue": scheduledJob.queue, "outcome": "completed"]) { $1 }) == 1)
            #expect(value("smrt_worker_exits_total", ["supervisor": supervisorId, "reason": "timeout_kill"]) == 1)
            #expect((value("smrt_worker_exits_total", ["supervisor": supervisorId, "reason": "signal"]) ?? 0) >= 2)
            // Every attempt had ended when the snapshot was taken; a worker killed last may still be respawning.
            #expect(value("smrt_workers", ["supervisor": supervisorId, "state": "busy"]) == 0)
            let workersNow = ["starting", "idle", "busy", "stopping"].compactMap { value("smrt_workers", ["supervisor": supervisorId, "state": $0]) }
            #expect(workersNow.count == 4 && (1...2).contains(workersNow.reduce(0, +)), "\(workersNow)")

            // Histograms: cumulative buckets in order of `le`, +Inf last and equal to _count, a _sum.
            for (name, count) in [("smrt_job_duration_seconds", 6.0), ("smrt_job_queue_wait_seconds", 6.0), ("smrt_kill_lateness_seconds", 1.0)] {
                let family = try #require(families.first { $0.name == name })
                let buckets = family.samples.filter { $0.name == name + "_bucket" && $0.labels["supervisor"] == supervisorId }
                let bounds = buckets.map { Double($0.labels["le"] ?? "") ?? .nan }
                #expect(!bounds.contains { $0.isNaN }, "\(name) le: \(buckets.map(\.labels))")
                #expect(bounds == bounds.sorted() && bounds.last == .infinity && bounds.count >= 2, "\(name) buckets \(bounds)")
                let counts = buckets.map(\.value)
                #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 }, "\(name) buckets not cumulative: \(counts)")
                #expect(counts.last == count, "\(name) +Inf bucket \(counts.last ?? -1)")
                #expect(value(name + "_count", ["supervisor": supervisorId]) == count)
                #expect((value(name + "_sum", ["supervisor": supervisorId]) ?? -1) >= 0)
            }
            // The kill came at most 1 s after the 300 ms deadline: its one observation is in a finite bucket.
            let lateness = families.first { $0.name == "smrt_kill_lateness_seconds" }?.samples.filter {
                $0.name == "smrt_kill_lateness_seconds_bucket" && $0.labels["supervisor"] == supervisorId && Double($0.labels["le"] ?? "") == 1
            }
            #expect(lateness?.map(\.value) == [1], "\(lateness.map { "\($0)" } ?? "none")")
        }
    }
}
