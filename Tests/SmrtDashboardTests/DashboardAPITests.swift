import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SmrtJobs
import Testing

@testable import SmrtDashboard

/// Every API endpoint and action, the same actions through the pages' forms, and the errors.
@Suite struct DashboardAPITests {
    @Test(arguments: DashboardFixture.kinds)
    func readEndpoints(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind) { store in
            try Seed.pending(store, 2, queue: "emails")
            try Seed.failed(store, queue: "emails")
            try Seed.supervisor(store, id: "sup-a", stats: Seed.snapshot(jobId: nil, durations: [0.5]))
            _ = try Seed.schedule(store)
            try (store as? any QueueStore)?.setQueue(name: "emails", paused: true, concurrency: .limit(3), now: Date())
        }
        try await fixture.test { client in
            let (overview, json) = try await client.api("/api/overview")
            #expect(overview.status == .ok)
            #expect(overview.headers[.contentType] == "application/json; charset=utf-8")
            #expect(json["totals"]?["pending"] == .int(2))
            #expect(json["totals"]?["failed"] == .int(1))
            #expect(json["supervisorsAlive"] == .int(1))
            #expect(json["lastHour"]?.arrayCount == 60)
            #expect(json["freshness"]?["ageSeconds"]?.doubleValue != nil)
            let queues = try #require(json["queues"])
            #expect(queues.arrayCount == 1)
            let (_, queuesJSON) = try await client.api("/api/queues")
            guard case .array(let list)? = queuesJSON["queues"], let emails = list.first else {
                Issue.record("no queues in \(queuesJSON.jsonText)")
                return
            }
            #expect(emails["name"] == .string("emails"))
            #expect(emails["paused"] == .bool(true))
            #expect(emails["concurrency"] == .int(3))
            #expect(emails["counts"]?["pending"] == .int(2))
            #expect(emails["oldestReadySeconds"]?.doubleValue != nil)

            let (_, jobs) = try await client.api("/api/jobs?status=failed")
            #expect(jobs["jobs"]?.arrayCount == 1)
            let (_, supervisors) = try await client.api("/api/supervisors")
            guard case .array(let sups)? = supervisors["supervisors"], let sup = sups.first else {
                Issue.record("no supervisors")
                return
            }
            #expect(sup["id"] == .string("sup-a"))
            #expect(sup["alive"] == .bool(true))
            #expect(sup["stats"]?["workers"]?.arrayCount == 2)
            let (_, schedules) = try await client.api("/api/schedules")
            guard case .array(let items)? = schedules["schedules"], let schedule = items.first else {
                Issue.record("no schedules")
                return
            }
            #expect(schedule["cron"] == .string("*/5 * * * *"))
            #expect(schedule["methodArgs"]?["password"] == .string("[REDACTED]"))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func jobActionsAndTheirConflicts(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        let (failed, completed) = try await fixture.seed { store in
            (try Seed.failed(store), try Seed.finished(store, JobSpec(objectType: "Mailer", method: "send"), .completed(result: .int(1))))
        }
        try await fixture.test { client in
            let (retried, json) = try await client.api("/api/jobs/\(failed.id)/retry", method: .post, json: "{}")
            #expect(retried.status == .ok)
            #expect(json["job"]?["status"] == .string("pending"))
            #expect(json["message"] == .string("job \(failed.id) is pending again (attempts reset)"))
            // The action asked the cache for an early refresh: the overview counts the job as pending.
            try await fixture.waitForRefresh()
            let (_, overview) = try await client.api("/api/overview")
            #expect(overview["totals"]?["pending"] == .int(1))
            #expect(overview["totals"]?["failed"] == .int(0))

            let (conflict, error) = try await client.api("/api/jobs/\(completed.id)/retry", method: .post, json: "{}")
            #expect(conflict.status == .conflict)
            #expect(error["error"] == .string("cannot retry job \(completed.id): it is completed"))
            let (cancelConflict, _) = try await client.api("/api/jobs/\(completed.id)/cancel", method: .post, json: "{}")
            #expect(cancelConflict.status == .conflict)
            let (cancelled, cancelledJSON) = try await client.api("/api/jobs/\(failed.id)/cancel", method: .post, json: "{}")
            #expect(cancelled.status == .ok)
            #expect(cancelledJSON["job"]?["status"] == .string("cancelled"))

            let (missing, missingJSON) = try await client.api("/api/jobs/999999/retry", method: .post, json: "{}")
            #expect(missing.status == .notFound)
            #expect(missingJSON["error"] == .string("job 999999 not found"))

            // The page's form: a refused action comes back as an error flash on the job's page.
            let (_, html) = try await client.page("/jobs/\(completed.id)")
            #expect(!html.contains("id=\"job-retry\""))
            let csrf = try #require(DashboardFixture.Client.csrf(in: try await client.page("/jobs").1))
            let refused = try await client.post("/jobs/\(completed.id)/cancel", [("csrf", csrf)])
            #expect(refused.status == .seeOther)
            let (_, flashed) = try await client.page("/jobs/\(completed.id)")
            #expect(flashed.contains("class=\"flash flash-error\" role=\"status\">cannot cancel job \(completed.id): it is completed</p>"))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func badParametersAnswer400NamingThem(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        try await fixture.test { client in
            let cases: [(String, String)] = [
                ("/api/jobs?status=bogus", "invalid parameter status 'bogus': expected one of pending, running, completed, failed, cancelled"),
                ("/api/jobs?before=abc", "invalid parameter before 'abc': expected a job id (a positive integer)"),
                ("/api/jobs?before=-4", "invalid parameter before '-4': expected a job id (a positive integer)"),
                ("/api/jobs/abc", "invalid parameter id 'abc': expected a positive integer"),
                ("/api/jobs?queue=" + String(repeating: "q", count: 201), "at most 200 characters"),
            ]
            for (path, message) in cases {
                let (response, json) = try await client.api(path)
                #expect(response.status == .badRequest, "\(path)")
                #expect(json["error"]?.stringValue?.contains(message) == true, "\(path): \(json.jsonText)")
            }
            let (page, html) = try await client.page("/jobs?status=bogus")
            #expect(page.status == .badRequest)
            #expect(html.contains("id=\"error-message\""))
            let (notFound, _) = try await client.page("/jobs/424242")
            #expect(notFound.status == .notFound)
            let (noRoute, noRouteJSON) = try await client.api("/api/nothing")
            #expect(noRoute.status == .notFound)
            #expect(noRouteJSON["error"] != nil)

            let bodies: [(String, String, String)] = [
                ("/api/queues/limit", #"{"queue":"q","limit":-1}"#, "invalid parameter limit '-1'"),
                ("/api/queues/limit", #"{"queue":"q"}"#, "invalid parameter limit ''"),
                ("/api/queues/limit", #"{"queue":"q","limit":"five"}"#, "invalid parameter limit '\"five\"'"),
                ("/api/queues/pause", #"{}"#, "invalid parameter queue ''"),
                ("/api/queues/pause", #"{"queue":7}"#, "invalid parameter queue '7'"),
                ("/api/queues/pause", #"[1]"#, "the request body must be a JSON object"),
                ("/api/jobs/retry-failed", #"{"queue":false}"#, "invalid parameter queue 'false'"),
            ]
            for (path, body, message) in bodies {
                let (response, json) = try await client.api(path, method: .post, json: body)
                #expect(response.status == .badRequest, "\(path) \(body)")
                #expect(json["error"]?.stringValue?.hasPrefix(message) == true, "\(path) \(body): \(json.jsonText)")
            }
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func bulkRetryTakesTheFailedJobsOfTheFilter(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind) { store in
            try Seed.failed(store, queue: "emails", error: "SMTP timeout")
            try Seed.failed(store, queue: "emails", error: "bad address")
            try Seed.failed(store, queue: "emails", error: "smtp TIMEOUT again")
            try Seed.failed(store, queue: "reports", error: "SMTP timeout")
        }
        try await fixture.test { client in
            // Error text: only the matching failed jobs of the queue.
            let (response, json) = try await client.api("/api/jobs/retry-failed", method: .post, json: #"{"queue":"emails","error":"smtp timeout"}"#)
            #expect(response.status == .ok)
            #expect(json["count"] == .int(2))
            let failed = try await fixture.seed { store in try store.list(JobQuery(status: .failed)).map { $0.lastError ?? "" }.sorted() }
            #expect(failed == ["SMTP timeout", "bad address"])

            // Through the form, with the page's filter: every failed job of reports.
            let (_, html) = try await client.page("/jobs?status=failed&queue=reports")
            #expect(html.contains("id=\"bulk-retry\""))
            let csrf = try #require(DashboardFixture.Client.csrf(in: html))
            let posted = try await client.post("/jobs/retry-failed", [("csrf", csrf), ("queue", "reports"), ("type", ""), ("error", "")])
            #expect(posted.status == .seeOther)
            #expect(posted.headers[.location] == "/jobs?status=failed&queue=reports")
            let (_, after) = try await client.page("/jobs?status=failed&queue=reports")
            #expect(after.contains("retried 1 failed job</p>"))
            let left = try await fixture.seed { store in try store.list(JobQuery(status: .failed)).map(\.queue) }
            #expect(left == ["emails"])
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func scheduleActions(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        let schedule = try await fixture.seed { store in try Seed.schedule(store, cron: "0 0 1 1 *") }
        try await fixture.test { client in
            let (ran, json) = try await client.api("/api/schedules/\(schedule.id)/run", method: .post, json: "{}")
            #expect(ran.status == .ok)
            let jobId = try #require(json["jobId"]?.intValue)
            let (job, after) = try await fixture.seed { store in (try store.get(id: jobId), try store.getSchedule(id: schedule.id)) }
            #expect(job?.objectType == "Reports")
            #expect(job?.scheduleId == schedule.id)
            // The next cron slot is kept.
            #expect(after?.nextRun == schedule.nextRun)
            #expect(after?.runningCount == 1)

            // Its one concurrent run is taken.
            let (busy, busyJSON) = try await client.api("/api/schedules/\(schedule.id)/run", method: .post, json: "{}")
            #expect(busy.status == .conflict)
            #expect(busyJSON["error"]?.stringValue?.contains("already runs 1 of at most 1") == true)

            let (disabled, disabledJSON) = try await client.api("/api/schedules/\(schedule.id)/disable", method: .post, json: "{}")
            #expect(disabled.status == .ok)
            #expect(disabledJSON["schedule"]?["status"] == .string("disabled"))
            let (notActive, _) = try await client.api("/api/schedules/\(schedule.id)/run", method: .post, json: "{}")
            #expect(notActive.status == .conflict)

            // Enable through the page's button.
            let (_, html) = try await client.page("/schedules")
            #expect(html.contains("class=\"schedule-enable\""))
            let csrf = try #require(DashboardFixture.Client.csrf(in: html))
            let enabled = try await client.post("/schedules/\(schedule.id)/enable", [("csrf", csrf)])
            #expect(enabled.status == .seeOther)
            #expect(enabled.headers[.location] == "/schedules")
            #expect(try await fixture.seed { try $0.getSchedule(id: schedule.id)?.status } == .active)
            let (missing, _) = try await client.api("/api/schedules/9999/enable", method: .post, json: "{}")
            #expect(missing.status == .notFound)
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func queueActions(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind) { store in try Seed.pending(store, 1, queue: "emails") }
        try await fixture.test { client in
            let (paused, json) = try await client.api("/api/queues/pause", method: .post, json: #"{"queue":"emails"}"#)
            #expect(paused.status == .ok)
            #expect(json["message"] == .string("queue emails paused"))
            let (limited, _) = try await client.api("/api/queues/limit", method: .post, json: #"{"queue":"emails","limit":2}"#)
            #expect(limited.status == .ok)
            var queue = try await fixture.seed { store in try (store as? any QueueStore)?.listQueues(now: Date()).first }
            #expect(queue?.paused == true)
            #expect(queue?.concurrency == 2)
            // The overview shows it at once, before the next refresh.
            let (_, html) = try await client.page("/")
            #expect(html.contains("class=\"queue-resume\""))

            let csrf = try #require(DashboardFixture.Client.csrf(in: html))
            let resumed = try await client.post("/queues/resume", [("csrf", csrf), ("queue", "emails")])
            #expect(resumed.status == .seeOther)
            let unlimited = try await client.post("/queues/limit", [("csrf", csrf), ("queue", "emails"), ("limit", "")])
            #expect(unlimited.status == .seeOther)
            queue = try await fixture.seed { store in try (store as? any QueueStore)?.listQueues(now: Date()).first }
            #expect(queue?.paused == false)
            #expect(queue?.concurrency == nil)
            let bad = try await client.post("/queues/limit", [("csrf", csrf), ("queue", "emails"), ("limit", "lots")])
            #expect(bad.status == .seeOther)
            let (_, flashed) = try await client.page("/")
            #expect(flashed.contains("invalid parameter limit &#39;lots&#39;"))
        }
    }
}
