import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SmrtJobs
import Testing

@testable import SmrtDashboard

/// The pages on every backend: what they show, keyset pagination, and values rendered inert.
@Suite struct DashboardPageTests {
    @Test(arguments: DashboardFixture.kinds)
    func overviewShowsCountsChartAndSupervisors(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind) { store in
            try Seed.pending(store, 3, queue: "emails")
            try Seed.failed(store, queue: "emails", error: "smtp down")
            try Seed.finished(store, JobSpec(objectType: "Mailer", method: "send", queue: "reports"), .completed(result: nil))
            try Seed.supervisor(store, id: "sup-a", stats: Seed.snapshot(jobId: nil, durations: [0.1]))
            try Seed.supervisor(store, id: "sup-gone", stats: nil, alive: false)
        }
        try await fixture.test { client in
            let (response, html) = try await client.page("/")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(html.contains("id=\"queues-table\""))
            #expect(html.contains("<tr class=\"queue-row\" data-queue=\"emails\">"))
            #expect(html.contains("<td class=\"num count-pending\"><a href=\"/jobs?status=pending&amp;queue=emails\">3</a></td>"))
            #expect(html.contains("<td class=\"num count-failed\"><a href=\"/jobs?status=failed&amp;queue=emails\">1</a></td>"))
            #expect(html.contains("<span class=\"figure\" id=\"supervisors-alive\">1</span>"))
            #expect(html.contains("<svg id=\"throughput-chart\""))
            #expect(html.contains("<span id=\"hour-completed\">1</span> completed, <span id=\"hour-failed\">1</span> failed"))
            #expect(html.contains("id=\"freshness\""))
            #expect(html.contains("Counts as of"))
            #expect(html.contains("class=\"queue-pause\""))
            // The oldest ready job of emails is seconds old, not "-".
            let emailsRow = try #require(html.range(of: "data-queue=\"emails\"").map { html[$0.lowerBound...] }.map { String($0.prefix { $0 != "\n" }.components(separatedBy: "</tr>")[0]) })
            #expect(emailsRow.contains("<td class=\"num oldest-ready\">") && !emailsRow.contains("<td class=\"num oldest-ready\">-</td>"))
            #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("script-src 'self'") == true)
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func jobsPagesAreKeysetPaginated(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind) { store in
            try Seed.pending(store, 120, queue: "bulk")
        }
        try await fixture.test { client in
            let (first, firstHTML) = try await client.page("/jobs?queue=bulk")
            #expect(first.status == .ok)
            let firstIds = Self.jobIds(firstHTML)
            #expect(firstIds.count == 50)
            #expect(firstIds == firstIds.sorted(by: >))
            let older = try #require(Self.olderLink(firstHTML))
            #expect(older == "/jobs?queue=bulk&before=\(firstIds.last!)")

            let (_, secondHTML) = try await client.page(older)
            let secondIds = Self.jobIds(secondHTML)
            #expect(secondIds.count == 50)
            #expect(secondIds.first! < firstIds.last!)
            let (_, thirdHTML) = try await client.page(try #require(Self.olderLink(secondHTML)))
            let thirdIds = Self.jobIds(thirdHTML)
            #expect(thirdIds.count == 20)
            #expect(Set(firstIds + secondIds + thirdIds).count == 120)
            #expect(Self.olderLink(thirdHTML) == nil)

            let (_, json) = try await client.api("/api/jobs?queue=bulk&before=\(firstIds.last!)")
            #expect(json["jobs"]?.arrayCount == 50)
            #expect(json["nextBefore"] == .int(secondIds.last!))
            #expect(json["scanLimitReached"] == .bool(false))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func aPageCutShortByTheScanLimitSaysSo(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind, pageScanLimit: 60) { store in
            try Seed.pending(store, 5, queue: "rare")
            try Seed.pending(store, 200, queue: "common")
        }
        try await fixture.test { client in
            let (_, html) = try await client.page("/jobs?queue=rare")
            #expect(html.contains("id=\"scan-limit-note\""))
            #expect(Self.jobIds(html).isEmpty)
            #expect(Self.olderLink(html) != nil)
            let (_, json) = try await client.api("/api/jobs?queue=rare")
            #expect(json["scanLimitReached"] == .bool(true))
            // Following the cursor reaches the rare jobs.
            var before = json["nextBefore"]?.intValue
            var found = 0
            while let cursor = before {
                let (_, page) = try await client.api("/api/jobs?queue=rare&before=\(cursor)")
                found += page["jobs"]?.arrayCount ?? 0
                before = page["nextBefore"]?.intValue
            }
            #expect(found == 5)
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func jobPageShowsEveryFieldRedacted(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        let job = try await fixture.seed { store in
            try Seed.failed(store, queue: "emails", error: "login failed: password=hunter2", args: ["to": "a@b.c", "api_token": "tok-123"])
        }
        try await fixture.test { client in
            let (response, html) = try await client.page("/jobs/\(job.id)")
            #expect(response.status == .ok)
            #expect(html.contains("<span id=\"job-status\"><span class=\"status status-failed\">failed</span></span>"))
            #expect(html.contains("[REDACTED]"))
            #expect(!html.contains("tok-123"))
            #expect(!html.contains("hunter2"))
            #expect(html.contains("a@b.c"))
            // What the store kept of the attempt's worker (the seed reports pid 4242, "exit code 3").
            #expect(html.contains("<tr id=\"field-worker-pid\"><th scope=\"row\">worker pid</th><td>\(job.workerPid.map(String.init) ?? "-")</td></tr>"))
            #expect(html.contains("<tr id=\"field-worker-exit\"><th scope=\"row\">how the worker ended it</th><td>\(job.workerExit ?? "-")</td></tr>"))
            #expect(html.contains("id=\"job-retry\""))
            #expect(html.contains("id=\"job-cancel\""))

            let (apiResponse, json) = try await client.api("/api/jobs/\(job.id)")
            #expect(apiResponse.status == .ok)
            #expect(json["args"]?["api_token"] == .string("[REDACTED]"))
            #expect(json["lastError"] == .string("login failed: password=[REDACTED]"))
            #expect(json["workerPid"] == (job.workerPid.map { .int(Int64($0)) } ?? .null))
            #expect(json["status"] == .string("failed"))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func progressIsABar(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        let id = try await fixture.seed { store -> Int64 in
            let job = try store.enqueue(JobSpec(objectType: "Import", method: "run", queue: "imports"), now: Date())
            _ = try store.claim(workerId: "w1", limit: 1, queues: ["imports"], now: Date())
            let monitoring = try #require(store as? any MonitoringStore)
            let stored = try monitoring.recordProgress(
                [ProgressUpdate(jobId: job.id, progress: JobProgress(fraction: 0.42, message: "page 21 of 50", updatedAt: Date()))],
                workerId: "w1")
            #expect(stored == 1)
            return job.id
        }
        try await fixture.test { client in
            let (_, html) = try await client.page("/jobs/\(id)")
            #expect(html.contains("<progress id=\"job-progress-bar\" max=\"1\" value=\"0.42\">"))
            #expect(html.contains("<span id=\"job-progress-percent\">42%</span>"))
            #expect(html.contains("page 21 of 50"))
            let (_, list) = try await client.page("/jobs?status=running")
            #expect(list.contains("<progress max=\"1\" value=\"0.42\">"))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func supervisorsAndSchedulesPages(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind) { store in
            let job = try store.enqueue(JobSpec(objectType: "Mailer", method: "send"), now: Date())
            try Seed.supervisor(store, id: "sup-a", stats: Seed.snapshot(jobId: job.id, durations: [0.1, 2]))
            try Seed.supervisor(store, id: "sup-old", stats: nil, alive: false)
            _ = try Seed.schedule(store)
        }
        try await fixture.test { client in
            let (_, html) = try await client.page("/supervisors")
            #expect(html.contains("data-supervisor-id=\"sup-a\" data-alive=\"1\""))
            #expect(html.contains("data-supervisor-id=\"sup-old\" data-alive=\"0\""))
            #expect(html.contains("<tr class=\"worker-row\" data-pid=\"5001\">"))
            #expect(html.contains("12.0 MiB"))
            #expect(html.contains("class=\"worker-job\" href=\"/jobs/"))
            #expect(html.contains("<td>timeout_kill</td><td class=\"num\">1</td>"))

            let (_, schedules) = try await client.page("/schedules")
            #expect(schedules.contains("id=\"schedules-table\""))
            #expect(schedules.contains("<code>*/5 * * * *</code>"))
            #expect(schedules.contains("class=\"schedule-run\""))
            #expect(schedules.contains("class=\"schedule-disable\""))
        }
    }

    /// A job whose args, type, queue and error hold a script and quotes shows them as text on every page and
    /// in the SVG/attributes, never as markup.
    @Test(arguments: DashboardFixture.kinds)
    func hostileValuesRenderInert(_ kind: DashboardFixture.Kind) async throws {
        let hostile = Seed.hostile
        let fixture = try await DashboardFixture.make(kind) { store in
            let failed = try Seed.failed(store, queue: hostile, type: hostile, error: hostile, args: [hostile: .string(hostile)])
            var stats = Seed.snapshot(jobId: failed.id, durations: [0.1])
            stats.workers[0].jobLabel = hostile
            stats.finished.append(FinishedCount(queue: hostile, type: hostile, outcome: .failed, count: 1))
            stats.queues = [hostile]
            try Seed.supervisor(store, id: "sup-\(hostile)", stats: stats)
            _ = try ScheduleRunner.createSchedule(AgentScheduleSpec(agentType: hostile, cron: "0 * * * *", method: "run"), in: store)
        }
        let id = try await fixture.seed { store in try #require(try store.list(JobQuery(status: .failed)).first?.id) }
        try await fixture.test { client in
            let queue = URLQuery.escape(hostile)
            for path in ["/", "/jobs", "/jobs?queue=\(queue)&type=\(queue)&error=\(queue)", "/jobs/\(id)", "/supervisors", "/schedules"] {
                let (response, html) = try await client.page(path)
                #expect(response.status == .ok, "\(path)")
                #expect(!html.contains("<script>alert"), "\(path) holds a live script tag")
                #expect(!html.contains("\"'"), "\(path) holds an unescaped quote pair")
                #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path) does not show the value")
            }
            let (_, json) = try await client.api("/api/jobs/\(id)")
            #expect(json["queue"] == .string(hostile))
        }
    }

    static func jobIds(_ html: String) -> [Int64] {
        html.matches(of: /<tr class="job-row" data-job-id="(\d+)"/).compactMap { Int64($0.1) }
    }

    static func olderLink(_ html: String) -> String? {
        html.firstMatch(of: /<a id="older-link" rel="next" href="([^"]+)">/).map { String($0.1).replacingOccurrences(of: "&amp;", with: "&") }
    }
}

extension JSONValue {
    var arrayCount: Int? {
        if case .array(let items) = self { return items.count }
        return nil
    }
}
