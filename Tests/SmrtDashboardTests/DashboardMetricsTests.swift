import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SmrtJobs
import Testing

@testable import SmrtDashboard

/// `/metrics` from stored snapshots: each family once, exact bucket counts, counts and sums per supervisor.
@Suite struct DashboardMetricsTests {
    @Test(arguments: DashboardFixture.kinds)
    func metricsFromTheDatabaseAndEverySupervisor(_ kind: DashboardFixture.Kind) async throws {
        let durationsA = [0.004, 0.03, 0.03, 0.7, 12, 5000]
        let durationsB = [0.2, 0.2]
        let fixture = try await DashboardFixture.make(kind) { store in
            try Seed.pending(store, 3, queue: "emails")
            try Seed.failed(store, queue: "emails")
            try Seed.supervisor(store, id: "sup-a", stats: Seed.snapshot(jobId: nil, durations: durationsA, lateness: [0.003, 2]))
            try Seed.supervisor(store, id: "sup-b", stats: Seed.snapshot(jobId: nil, durations: durationsB))
            try Seed.supervisor(store, id: "sup-dead", stats: Seed.snapshot(jobId: nil, durations: [1]), alive: false)
            let schedule = try Seed.schedule(store)
            _ = try store.handleJobCompletion(scheduleId: schedule.id, success: true, message: nil, now: Date(timeIntervalSince1970: 1_800_000_000))
        }
        try await fixture.test { client in
            let response = try await client.request("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body)
            let lines = text.split(separator: "\n").map(String.init)

            // Each family has one TYPE line, whatever the number of supervisors.
            let families = [
                ("smrt_jobs", "gauge"), ("smrt_queue_oldest_ready_seconds", "gauge"),
                ("smrt_schedule_last_success_timestamp_seconds", "gauge"), ("smrt_supervisors", "gauge"),
                ("smrt_jobs_finished_total", "counter"), ("smrt_job_duration_seconds", "histogram"),
                ("smrt_job_queue_wait_seconds", "histogram"), ("smrt_kill_lateness_seconds", "histogram"),
                ("smrt_worker_exits_total", "counter"), ("smrt_workers", "gauge"), ("smrt_jobs_pruned_total", "counter"),
            ]
            for (name, type) in families {
                #expect(lines.filter { $0 == "# TYPE \(name) \(type)" }.count == 1, "\(name)")
                #expect(lines.filter { $0.hasPrefix("# TYPE \(name) ") }.count == 1, "\(name)")
            }
            #expect(lines.contains(#"smrt_jobs{queue="emails",status="pending"} 3.0"#) || lines.contains(#"smrt_jobs{queue="emails",status="pending"} 3"#))
            #expect(value(lines, #"smrt_jobs{queue="emails",status="failed"}"#) == 1)
            #expect(value(lines, "smrt_supervisors") == 2)
            #expect(value(lines, #"smrt_schedule_last_success_timestamp_seconds{schedule="1"}"#) == 1_800_000_000
                || lines.contains { $0.hasPrefix("smrt_schedule_last_success_timestamp_seconds{") && $0.hasSuffix(" 1800000000.0") })
            #expect(!text.contains("sup-dead"))

            // Supervisor a: exact buckets (cumulative), count and sum.
            let bounds = HistogramSnapshot.durationBounds
            for (supervisor, durations) in [("sup-a", durationsA), ("sup-b", durationsB)] {
                for bound in bounds {
                    let expected = durations.filter { $0 <= bound }.count
                    let line = lines.first { $0.hasPrefix("smrt_job_duration_seconds_bucket{supervisor=\"\(supervisor)\",le=\"\(bound)\"}") }
                    #expect(line.flatMap(Self.lastNumber) == Double(expected), "\(supervisor) le=\(bound): \(line ?? "missing")")
                }
                #expect(value(lines, "smrt_job_duration_seconds_bucket{supervisor=\"\(supervisor)\",le=\"+Inf\"}") == Double(durations.count))
                #expect(value(lines, "smrt_job_duration_seconds_count{supervisor=\"\(supervisor)\"}") == Double(durations.count))
                let sum = try #require(value(lines, "smrt_job_duration_seconds_sum{supervisor=\"\(supervisor)\"}"))
                #expect(abs(sum - durations.reduce(0, +)) < 1e-6, "\(supervisor) sum \(sum)")
                #expect(value(lines, "smrt_jobs_finished_total{supervisor=\"\(supervisor)\",queue=\"default\",type=\"Mailer\",outcome=\"completed\"}")
                    == Double(durations.count))
                #expect(value(lines, "smrt_worker_exits_total{supervisor=\"\(supervisor)\",reason=\"timeout_kill\"}") == 1)
                #expect(value(lines, "smrt_workers{supervisor=\"\(supervisor)\",state=\"idle\"}") == 2)
                #expect(value(lines, "smrt_jobs_pruned_total{supervisor=\"\(supervisor)\"}") == 9)
            }
            #expect(value(lines, "smrt_kill_lateness_seconds_count{supervisor=\"sup-a\"}") == 2)
            let lateness = try #require(value(lines, "smrt_kill_lateness_seconds_sum{supervisor=\"sup-a\"}"))
            #expect(abs(lateness - 2.003) < 1e-9)
        }
    }

    /// A later snapshot adds only its new observations; a supervisor that restarts its counters starts over.
    @Test func histogramsFollowSnapshots() throws {
        let metrics = ClusterMetrics()
        let now = Date()
        func overview(_ stats: SupervisorSnapshot, at offset: TimeInterval) -> OverviewSnapshot {
            OverviewSnapshot(
                takenAt: now.addingTimeInterval(offset), receivedAt: now, duration: .zero, queues: [], perMinute: [],
                workers: [WorkerRecord(id: "s1", pid: 1, host: "h", startedAt: now, heartbeat: now, expiresAt: now.addingTimeInterval(600), stats: stats)],
                schedules: [])
        }
        metrics.apply(overview(Seed.snapshot(jobId: nil, durations: [0.1, 0.2]), at: 0))
        metrics.apply(overview(Seed.snapshot(jobId: nil, durations: [0.1, 0.2, 50]), at: 1))
        var lines = String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(value(lines, #"smrt_job_duration_seconds_count{supervisor="s1"}"#) == 3)
        #expect(abs((value(lines, #"smrt_job_duration_seconds_sum{supervisor="s1"}"#) ?? 0) - 50.3) < 1e-9)
        #expect(value(lines, #"smrt_job_duration_seconds_bucket{supervisor="s1",le="60.0"}"#) == 3)
        #expect(value(lines, #"smrt_job_duration_seconds_bucket{supervisor="s1",le="30.0"}"#) == 2)

        metrics.apply(overview(Seed.snapshot(jobId: nil, durations: [7]), at: 2))
        lines = String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(value(lines, #"smrt_job_duration_seconds_count{supervisor="s1"}"#) == 1)
        #expect(value(lines, #"smrt_job_duration_seconds_sum{supervisor="s1"}"#) == 7)
        #expect(value(lines, #"smrt_jobs_finished_total{supervisor="s1",queue="default",type="Mailer",outcome="completed"}"#) == 1)
    }

    static func lastNumber(_ line: String) -> Double? {
        line.split(separator: " ").last.flatMap { Double($0) }
    }
}

/// The value of the sample line that starts with `series` followed by a space.
func value(_ lines: [String], _ series: String) -> Double? {
    lines.first { $0.hasPrefix(series + " ") }.flatMap { DashboardMetricsTests.lastNumber($0) }
}
