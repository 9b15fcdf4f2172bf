import Foundation
import Hummingbird
import SmrtJobs

/// The pages' buttons: form POSTs that check the session's CSRF token (same-origin and read-only were checked
/// by `AccessMiddleware`), run the action and redirect (303) to the page it came from with a flash message
/// saying what happened, or why it could not.
extension DashboardRoutes {
    struct ActionForm: Decodable {
        var csrf: String?
        var queue: String?
        var type: String?
        var error: String?
        var limit: String?
    }

    func registerFormActions(on router: Router<DashboardContext>) {
        router.post("/jobs/:id/retry") { request, context in
            let id = try Self.id(context)
            return try await formAction(request, context, redirect: "/jobs/\(id)") { _ in try await actions.retryJob(id) }
        }
        router.post("/jobs/:id/cancel") { request, context in
            let id = try Self.id(context)
            return try await formAction(request, context, redirect: "/jobs/\(id)") { _ in try await actions.cancelJob(id) }
        }
        router.post("/jobs/retry-failed") { request, context in
            try await formAction(request, context, redirect: nil) { form in
                let filter = try JobsFilter(JobsFilter.Parameters(queue: form.queue, type: form.type, error: form.error))
                return try await actions.retryFailed(matching: filter, scanLimit: configuration.pageScanLimit)
            }
        }
        for change in [DashboardActions.ScheduleChange.enable, .disable, .run] {
            router.post("/schedules/:id/\(change.rawValue)") { request, context in
                let id = try Self.id(context)
                return try await formAction(request, context, redirect: "/schedules") { _ in try await actions.schedule(id, change) }
            }
        }
        router.post("/queues/pause") { request, context in
            try await formAction(request, context, redirect: "/") { form in
                try await actions.queue(try Self.queueName(form.queue), paused: true, concurrency: nil)
            }
        }
        router.post("/queues/resume") { request, context in
            try await formAction(request, context, redirect: "/") { form in
                try await actions.queue(try Self.queueName(form.queue), paused: false, concurrency: nil)
            }
        }
        router.post("/queues/limit") { request, context in
            try await formAction(request, context, redirect: "/") { form in
                let limit = try Self.limit(form.limit.flatMap { $0.isEmpty || $0 == "none" ? nil : $0 })
                return try await actions.queue(try Self.queueName(form.queue), paused: nil, concurrency: limit)
            }
        }
    }

    /// Reads the form, checks its CSRF token, runs `body`; a refused action (a 4xx/5xx the store gave) becomes an
    /// error flash on the redirect, while a bad or missing CSRF token is a 403 page. `redirect` nil: back to the
    /// Jobs page of the form's filter.
    func formAction(
        _ request: Request, _ context: DashboardContext, redirect: String?,
        _ body: @Sendable (ActionForm) async throws -> DashboardActions.Outcome
    ) async throws -> Response {
        let form = try await Self.form(request, as: ActionForm.self)
        guard let session = context.session, let sent = form.csrf, SessionStore.constantTimeEquals(sent, session.csrfToken) else {
            throw APIError.forbidden("missing or wrong CSRF token: reload the page and try again")
        }
        let target = redirect ?? "/jobs" + JobsFilter(status: .failed, queue: nonEmpty(form.queue), type: nonEmpty(form.type), error: nonEmpty(form.error))
            .queryString(before: nil)
        do {
            let outcome = try await body(form)
            sessions.setFlash(.init(message: outcome.message, isError: false), for: session.id)
        } catch {
            let failure = APIError.from(error)
            sessions.setFlash(.init(message: failure.message, isError: true), for: session.id)
        }
        return Response.redirect(to: target, type: .normal)
    }

    private func nonEmpty(_ text: String?) -> String? {
        text?.isEmpty == false ? text : nil
    }

    static func queueName(_ name: String?) throws -> String {
        guard let name, !name.isEmpty else { throw APIError.badParameter("queue", name ?? "", "a queue name is required") }
        guard name.count <= JobsFilter.maxTextLength else { throw APIError.badParameter("queue", name, "too long") }
        return name
    }

    /// A concurrency limit: nil or "none" for unlimited, else a whole number ≥ 0.
    static func limit(_ text: String?) throws -> QueueConcurrency {
        guard let text else { return .unlimited }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
            throw APIError.badParameter("limit", text, "expected a whole number ≥ 0, or empty for no limit")
        }
        return .limit(value)
    }
}
