import Foundation
import Hummingbird
import SmrtJobs

/// `/api/…`: every page's data and every action as JSON. Errors are `{"error": "…"}` with their status (400
/// naming the parameter, 401, 403, 404, 409 for a transition the job or schedule does not allow).
extension DashboardRoutes {
    func registerAPI(on router: Router<DashboardContext>) {
        router.get("/api/overview") { _, _ in
            guard let snapshot = await cache.current() else {
                throw APIError(.serviceUnavailable, cache.lastError.map { "counts could not be read: \($0)" } ?? "counts are being read; retry in a moment")
            }
            let now = Date()
            let live = snapshot.liveWorkers
            return JSONResponse.ok([
                "freshness": DashboardJSON.freshness(snapshot, now: now),
                "totals": DashboardJSON.counts(snapshot.totals),
                "queues": .array(snapshot.queues.map { DashboardJSON.queue($0, now: snapshot.takenAt) }),
                "lastHour": .array(snapshot.lastHour().map(DashboardJSON.tally)),
                "supervisorsAlive": .int(Int64(live.count)),
                "supervisors": .int(Int64(snapshot.workers.count)),
                "readOnly": .bool(configuration.readOnly),
            ])
        }
        router.get("/api/queues") { _, _ in
            guard let snapshot = await cache.current() else { throw APIError(.serviceUnavailable, "counts are being read; retry in a moment") }
            return JSONResponse.ok([
                "freshness": DashboardJSON.freshness(snapshot, now: Date()),
                "queues": .array(snapshot.queues.map { DashboardJSON.queue($0, now: snapshot.takenAt) }),
            ])
        }
        router.get("/api/jobs") { request, context in
            let filter = try jobsFilter(request, context)
            let page = try await jobPage(filter)
            return JSONResponse.ok([
                "jobs": .array(page.jobs.map(DashboardJSON.jobSummary)),
                "nextBefore": page.nextBeforeId.map { .int($0) } ?? .null,
                "scanLimitReached": .bool(page.scanLimitReached),
                "scanLimit": .int(Int64(configuration.pageScanLimit)),
            ])
        }
        router.get("/api/jobs/:id") { _, context in
            JSONResponse.ok(DashboardJSON.job(try await job(try Self.id(context))))
        }
        router.get("/api/supervisors") { _, _ in
            let (records, now) = try await supervisors()
            return JSONResponse.ok(["supervisors": .array(records.map { DashboardJSON.supervisor($0, now: now) })])
        }
        router.get("/api/schedules") { _, _ in
            let schedules = try await pool.run { store in try store.listSchedules() }
            return JSONResponse.ok(["schedules": .array(schedules.map(DashboardJSON.schedule))])
        }

        router.post("/api/jobs/:id/retry") { _, context in
            JSONResponse.ok(try await actions.retryJob(try Self.id(context)).json)
        }
        router.post("/api/jobs/:id/cancel") { _, context in
            JSONResponse.ok(try await actions.cancelJob(try Self.id(context)).json)
        }
        router.post("/api/jobs/retry-failed") { request, _ in
            let body = try await Self.jsonBody(request)
            let filter = try JobsFilter(JobsFilter.Parameters(
                queue: try Self.string(body, "queue"), type: try Self.string(body, "type"), error: try Self.string(body, "error")))
            return JSONResponse.ok(try await actions.retryFailed(matching: filter, scanLimit: configuration.pageScanLimit).json)
        }
        for change in [DashboardActions.ScheduleChange.enable, .disable, .run] {
            router.post("/api/schedules/:id/\(change.rawValue)") { _, context in
                JSONResponse.ok(try await actions.schedule(try Self.id(context), change).json)
            }
        }
        router.post("/api/queues/pause") { request, _ in
            let body = try await Self.jsonBody(request)
            return JSONResponse.ok(try await actions.queue(try Self.queueName(try Self.string(body, "queue")), paused: true, concurrency: nil).json)
        }
        router.post("/api/queues/resume") { request, _ in
            let body = try await Self.jsonBody(request)
            return JSONResponse.ok(try await actions.queue(try Self.queueName(try Self.string(body, "queue")), paused: false, concurrency: nil).json)
        }
        router.post("/api/queues/limit") { request, _ in
            let body = try await Self.jsonBody(request)
            let name = try Self.queueName(try Self.string(body, "queue"))
            let limit: QueueConcurrency
            switch body["limit"] {
            case nil: throw APIError.badParameter("limit", "", "required: a whole number ≥ 0, or null for no limit")
            case .null?: limit = .unlimited
            case .int(let value)? where value >= 0 && value <= Int64(Int32.max): limit = .limit(Int(value))
            case let other?: throw APIError.badParameter("limit", other.jsonText, "expected a whole number ≥ 0, or null for no limit")
            }
            return JSONResponse.ok(try await actions.queue(name, paused: nil, concurrency: limit).json)
        }
    }

    /// The request's JSON object (an empty body is `{}`).
    static func jsonBody(_ request: Request) async throws -> [String: JSONValue] {
        let text = try await bodyText(request)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
        guard let value = try? JSONValue.parse(text), let object = value.objectValue else {
            throw APIError(.badRequest, "the request body must be a JSON object")
        }
        return object
    }

    /// A string member, nil when absent or null; 400 naming it when it is something else.
    static func string(_ body: [String: JSONValue], _ key: String) throws -> String? {
        switch body[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw APIError.badParameter(key, other.jsonText, "expected a string")
        }
    }
}
