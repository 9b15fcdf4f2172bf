import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SmrtJobs
import SmrtJobsConformance
import SmrtJobsSQLite
import Testing

@testable import SmrtDashboard

/// A real `smrt-supervisor` with the demo worker on a SQLite file, and the dashboard on the same file: what the
/// supervisor publishes in its lease row reaches the pages and `/metrics`, and a running job's progress shows.
@Suite struct DashboardSupervisorTests {
    @Test func aRunningSupervisorShowsOnEveryPageAndInTheMetrics() async throws {
        let directory = try TemporaryDirectory(prefix: "smrt-dash-e2e")
        defer { directory.remove() }
        let database = directory.path("jobs.sqlite")
        let backend = SQLiteBackend(path: database)
        let (progressId, failId) = try await BlockingWork.run { () throws -> (Int64, Int64) in
            let store = try backend.openStore(.create)
            _ = try store.enqueue(batch: (0..<5).map { _ in JobSpec(objectType: "Demo", method: "noop") }, now: Date())
            let fail = try store.enqueue(
                JobSpec(objectType: "Demo", method: "fail", args: ["message": "no customer"], maxAttempts: 1), now: Date())
            let progress = try store.enqueue(
                JobSpec(objectType: "Demo", method: "progress", args: ["steps": 3, "ms": 4000]), now: Date())
            return (progress.id, fail.id)
        }
        let supervisor = try DashboardProcess(
            ["--db", database, "--workers", "2", "--worker-exec", DashboardProcess.product("smrt-demo-worker"),
             "--heartbeat-interval", "200"],
            binary: DashboardProcess.product("smrt-supervisor"))
        let sink = DashboardLogHandler.Sink(writesToStandardError: false)
        let server = try await DashboardServer.open(
            DashboardConfiguration(database: database, refreshInterval: .milliseconds(100), refreshShare: 1), backend: backend,
            logger: DashboardLogHandler.logger(format: .text, sink: sink))
        do {
            try await server.application().test(.router) { raw in
                let client = DashboardFixture.Client(raw)
                // The progress job reports while it runs: its page shows the bar, the supervisor's page its worker on it.
                var sawProgress = false
                let progressDeadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < progressDeadline {
                    let (_, html) = try await client.page("/jobs/\(progressId)")
                    if html.contains("id=\"job-progress-bar\"") {
                        sawProgress = true
                        #expect(html.contains("step "))
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(sawProgress, "no progress bar on the running job's page")

                // Every job ends; the lease row's snapshot counts them.
                let deadline = ContinuousClock.now + .seconds(60)
                var finished = 0
                while ContinuousClock.now < deadline {
                    let (_, json) = try await client.api("/api/supervisors")
                    if case .array(let supervisors)? = json["supervisors"], let stats = supervisors.first?["stats"],
                        case .array(let counts)? = stats["finished"]
                    {
                        finished = counts.reduce(0) { $0 + Int($1["count"]?.intValue ?? 0) }
                        if finished == 7 { break }
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(finished == 7)
                let (_, overview) = try await client.page("/supervisors")
                #expect(overview.contains("data-alive=\"1\""))
                #expect(overview.components(separatedBy: "<tr class=\"worker-row\"").count - 1 == 2)

                // /metrics, after a refresh that read the final snapshot.
                let metricsDeadline = ContinuousClock.now + .seconds(20)
                var lines: [String] = []
                while ContinuousClock.now < metricsDeadline {
                    lines = String(buffer: try await client.request("/metrics").body).split(separator: "\n").map(String.init)
                    // A duration is counted at an attempt's end, its outcome once the database has recorded it.
                    if lines.contains(where: { $0.hasPrefix("smrt_job_duration_seconds_count{") && $0.hasSuffix(" 7") }),
                        lines.contains(where: { $0.hasPrefix("smrt_jobs_finished_total{") && $0.contains("outcome=\"completed\"") && $0.hasSuffix(" 6") })
                    {
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let durationCount = lines.first { $0.hasPrefix("smrt_job_duration_seconds_count{supervisor=\"") }
                #expect(durationCount?.hasSuffix(" 7") == true, "\(lines.joined(separator: "\n"))")
                #expect(lines.contains { $0.hasPrefix("smrt_jobs_finished_total{") && $0.contains("type=\"Demo\",outcome=\"completed\"") && $0.hasSuffix(" 6") })
                #expect(lines.contains { $0.hasPrefix("smrt_jobs_finished_total{") && $0.contains("type=\"Demo\",outcome=\"failed\"") && $0.hasSuffix(" 1") })
                #expect(value(lines, "smrt_supervisors") == 1)
                #expect(value(lines, #"smrt_jobs{queue="default",status="completed"}"#) == 6)
                #expect(lines.filter { $0.hasPrefix("# TYPE smrt_job_duration_seconds ") }.count == 1)

                let (_, failed) = try await client.api("/api/jobs/\(failId)")
                #expect(failed["status"] == .string("failed"))
                #expect(failed["workerPid"]?.intValue != nil)
                #expect(failed["workerExit"]?.stringValue?.isEmpty == false)
            }
        } catch {
            supervisor.signal(SIGKILL)
            await server.close()
            throw error
        }
        supervisor.signal(SIGTERM)
        let result = try await BlockingWork.run { try supervisor.finish(deadline: 30) }
        #expect(result.status == 0, "\(result)")
        await server.close()
    }
}
