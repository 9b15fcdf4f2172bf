import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SmrtJobs
import Testing

@testable import SmrtDashboard

/// Token, session cookie, CSRF, same-origin, read-only and the loopback Host rule.
@Suite struct DashboardSecurityTests {
    static let token = "t0ken-\(UUID().uuidString)"

    @Test(arguments: DashboardFixture.kinds)
    func apiAndMetricsNeedTheBearerToken(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind, token: Self.token)
        try await fixture.test { client in
            for path in ["/api/overview", "/api/jobs", "/api/supervisors", "/api/schedules", "/api/queues", "/metrics"] {
                let (missing, missingJSON) = try await client.api(path)
                #expect(missing.status == .unauthorized, "\(path)")
                #expect(missingJSON["error"]?.stringValue?.contains("bearer") == true, "\(path)")
                #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                let (wrong, _) = try await client.api(path, token: Self.token + "x")
                #expect(wrong.status == .unauthorized, "\(path)")
                let (right, _) = try await client.api(path, token: Self.token)
                #expect(right.status == .ok, "\(path)")
            }
            let (malformed, json) = try await client.api("/api/jobs", headers: [DashboardFixture.Fields.authorization: "Basic abc"])
            #expect(malformed.status == .unauthorized)
            #expect(json["error"] == .string("the Authorization header must be 'Bearer <token>'"))
        }
        // Wrong tokens are logged, the token never.
        #expect(fixture.logSink.written.contains { $0.contains("rejected a wrong bearer token for GET /api/jobs") })
        #expect(!fixture.logSink.written.joined().contains(Self.token))
    }

    @Test(arguments: DashboardFixture.kinds)
    func browsersLogInOnceWithACookie(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind, token: Self.token)
        try await fixture.test { client in
            let redirected = try await client.request("/jobs?status=failed")
            #expect(redirected.status == .found)
            #expect(redirected.headers[.location] == "/login?next=%2Fjobs%3Fstatus%3Dfailed")
            let (loginPage, html) = try await client.page("/login?next=/jobs")
            #expect(loginPage.status == .ok)
            #expect(html.contains("id=\"login-form\""))

            let wrong = try await client.post("/login", [("token", "nope"), ("next", "/jobs")])
            #expect(wrong.status == .unauthorized)
            #expect(String(buffer: wrong.body).contains("id=\"login-error\""))
            #expect(client.cookie.withLock { $0 } == nil)

            let crossSite = try await client.post("/login", [("token", Self.token)], origin: "http://evil.example")
            #expect(crossSite.status == .forbidden)

            let right = try await client.post("/login", [("token", Self.token), ("next", "/jobs")])
            #expect(right.status == .seeOther)
            #expect(right.headers[.location] == "/jobs")
            let setCookie = try #require(right.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Strict"))
            #expect(!setCookie.contains(Self.token))
            let (page, _) = try await client.page("/jobs")
            #expect(page.status == .ok)
            // The session also reads the API (the pages' live refresh), but does not act through it without its CSRF header.
            let (api, _) = try await client.api("/api/overview")
            #expect(api.status == .ok)
            let (noHeader, _) = try await client.api("/api/queues/pause", method: .post, json: #"{"queue":"q"}"#)
            #expect(noHeader.status == .forbidden)

            // An open redirect is refused.
            let offsite = try await client.post("/login", [("token", Self.token), ("next", "//evil.example/")])
            #expect(offsite.headers[.location] == "/")
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func formActionsNeedCSRFTokenAndSameOrigin(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        let job = try await fixture.seed { store in try Seed.failed(store) }
        try await fixture.test { client in
            let (_, html) = try await client.page("/jobs/\(job.id)")
            let csrf = try #require(DashboardFixture.Client.csrf(in: html))
            let path = "/jobs/\(job.id)/retry"

            let missing = try await client.post(path, [])
            #expect(missing.status == .forbidden)
            #expect(String(buffer: missing.body).contains("CSRF"))
            let wrong = try await client.post(path, [("csrf", String(repeating: "0", count: 64))])
            #expect(wrong.status == .forbidden)
            let crossOrigin = try await client.post(path, [("csrf", csrf)], origin: "http://evil.example:8080")
            #expect(crossOrigin.status == .forbidden)
            let otherPort = try await client.post(path, [("csrf", csrf)], origin: "http://127.0.0.1:9999")
            #expect(otherPort.status == .forbidden)
            let noOrigin = try await client.post(path, [("csrf", csrf)], origin: nil)
            #expect(noOrigin.status == .forbidden)
            #expect(try await fixture.seed { try $0.get(id: job.id)?.status } == .failed)

            // Referer stands in for a missing Origin.
            let viaReferer = try await client.post(
                path, [("csrf", csrf)], origin: nil, headers: [DashboardFixture.Fields.referer: "http://127.0.0.1:8080/jobs/\(job.id)"])
            #expect(viaReferer.status == .seeOther)
            #expect(viaReferer.headers[.location] == "/jobs/\(job.id)")
            #expect(try await fixture.seed { try $0.get(id: job.id)?.status } == .pending)
            let (_, after) = try await client.page("/jobs/\(job.id)")
            #expect(after.contains("<p id=\"flash\" class=\"flash flash-ok\" role=\"status\">job \(job.id) is pending again (attempts reset)</p>"))
            // Shown once.
            let (_, again) = try await client.page("/jobs/\(job.id)")
            #expect(!again.contains("id=\"flash\""))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func apiPostsCannotBeForgedCrossSite(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind)
        let job = try await fixture.seed { store in try Seed.failed(store) }
        try await fixture.test { client in
            let path = "/api/jobs/\(job.id)/cancel"
            // What a form on another site can send: a simple content type.
            let form = try await client.request(path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: "")
            #expect(form.status == .forbidden)
            let crossOrigin = try await client.api(path, method: .post, json: "{}", headers: [DashboardFixture.Fields.origin: "http://evil.example"])
            #expect(crossOrigin.0.status == .forbidden)
            #expect(try await fixture.seed { try $0.get(id: job.id)?.status } == .failed)
            // curl sends JSON and no Origin.
            let (ok, json) = try await client.api(path, method: .post, json: "{}")
            #expect(ok.status == .ok)
            #expect(json["job"]?["status"] == .string("cancelled"))
        }
    }

    @Test(arguments: DashboardFixture.kinds)
    func readOnlyRefusesEveryActionAndHidesTheButtons(_ kind: DashboardFixture.Kind) async throws {
        let fixture = try await DashboardFixture.make(kind, readOnly: true) { store in
            try Seed.pending(store, 1, queue: "q")
            _ = try Seed.schedule(store)
        }
        let job = try await fixture.seed { store in try Seed.failed(store) }
        try await fixture.test { client in
            let (_, html) = try await client.page("/jobs/\(job.id)")
            #expect(html.contains("id=\"read-only\""))
            #expect(!html.contains("id=\"job-retry\""))
            let (_, overview) = try await client.page("/")
            #expect(!overview.contains("queue-pause"))
            let (_, schedules) = try await client.page("/schedules")
            #expect(!schedules.contains("schedule-run"))
            let (_, jobs) = try await client.page("/jobs")
            #expect(!jobs.contains("bulk-retry"))

            let scheduleId = try await fixture.seed { store in try #require(try store.listSchedules().first?.id) }
            let forms = ["/jobs/\(job.id)/retry", "/jobs/\(job.id)/cancel", "/jobs/retry-failed", "/schedules/\(scheduleId)/run",
                         "/queues/pause", "/queues/limit"]
            for path in forms {
                let response = try await client.post(path, [("csrf", "x"), ("queue", "q")])
                #expect(response.status == .forbidden, "\(path)")
                #expect(String(buffer: response.body).contains("read-only"), "\(path)")
            }
            for path in ["/api/jobs/\(job.id)/retry", "/api/jobs/retry-failed", "/api/schedules/\(scheduleId)/disable", "/api/queues/resume"] {
                let (response, json) = try await client.api(path, method: .post, json: #"{"queue":"q"}"#)
                #expect(response.status == .forbidden, "\(path)")
                #expect(json["error"] == .string("this dashboard is read-only: actions are disabled"))
            }
            #expect(try await fixture.seed { try $0.get(id: job.id)?.status } == .failed)
        }
    }

    /// Without a token, only a loopback Host is served: a page on another site that rebinds its name to
    /// 127.0.0.1 still sends its own name as Host.
    @Test func noTokenMeansLoopbackHostOnly() async throws {
        let fixture = try await DashboardFixture.make(.memory)
        try await fixture.test { client in
            let (rebound, json) = try await client.api("/api/overview", headers: [DashboardFixture.Fields.host: "evil.example:8080"])
            #expect(rebound.status == .forbidden)
            #expect(json["error"]?.stringValue?.contains("loopback Host") == true)
            for host in ["localhost:8080", "[::1]:8080", "127.0.0.1"] {
                let (response, _) = try await client.api("/api/overview", headers: [DashboardFixture.Fields.host: host])
                #expect(response.status == .ok, "\(host)")
            }
        }
    }

    @Test func sessionStoreForgetsIdleAndExcessSessions() {
        let sessions = SessionStore(capacity: 3, idleLimit: 60)
        let start = Date()
        let first = sessions.create(authenticated: true, now: start)
        #expect(sessions.session(id: first.id, now: start.addingTimeInterval(30)) != nil)
        #expect(sessions.session(id: first.id, now: start.addingTimeInterval(200)) == nil)
        var ids: [String] = []
        for i in 0..<5 { ids.append(sessions.create(authenticated: false, now: start.addingTimeInterval(Double(i))).id) }
        #expect(sessions.count == 3)
        #expect(sessions.session(id: ids[0], now: start.addingTimeInterval(10)) == nil)
        #expect(sessions.session(id: ids[4], now: start.addingTimeInterval(10)) != nil)
        #expect(Set(ids).count == 5 && ids.allSatisfy { $0.count == 64 })
        #expect(SessionStore.constantTimeEquals("abc", "abc"))
        #expect(!SessionStore.constantTimeEquals("abc", "abd"))
        #expect(!SessionStore.constantTimeEquals("abc", "abcd"))
        #expect(!SessionStore.constantTimeEquals("", "a"))
    }
}
