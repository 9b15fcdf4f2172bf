import Foundation
import Hummingbird
import SmrtJobs

/// The routes: pages, their form actions, the login, the JSON API and `/metrics`. Access rules run before them
/// (`AccessMiddleware`); each route reads from the overview cache or calls the store on a pool connection.
struct DashboardRoutes: Sendable {
    let configuration: DashboardConfiguration
    let pool: StorePool
    let cache: OverviewCache
    let metrics: ClusterMetrics
    let sessions: SessionStore
    let actions: DashboardActions

    /// The most jobs a page shows.
    static let pageSize = 50

    func register(on router: Router<DashboardContext>) {
        router.get("/static/dashboard.css") { _, _ in Self.asset(StaticAssets.css, type: "text/css; charset=utf-8") }
        router.get("/static/dashboard.js") { _, _ in Self.asset(StaticAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/login") { request, context in try loginPage(request, context) }
        router.post("/login") { request, context in try await login(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }

        router.get("/") { _, context in
            let snapshot = await cache.current()
            return Pages.response(Pages.overview(snapshot, lastError: cache.lastError, frame: frame(context, "overview", refreshable: true)))
        }
        router.get("/jobs") { request, context in
            let filter = try jobsFilter(request, context)
            let page = try await jobPage(filter)
            return Pages.response(Pages.jobs(page, filter: filter, scanLimit: configuration.pageScanLimit, frame: frame(context, "jobs")))
        }
        router.get("/jobs/:id") { _, context in
            let job = try await job(try Self.id(context))
            return Pages.response(Pages.job(job, frame: frame(context, "jobs")))
        }
        router.get("/supervisors") { _, context in
            let (records, now) = try await supervisors()
            return Pages.response(Pages.supervisors(records, now: now, frame: frame(context, "supervisors", refreshable: true)))
        }
        router.get("/schedules") { _, context in
            let schedules = try await pool.run { store in try store.listSchedules() }
            return Pages.response(Pages.schedules(schedules, frame: frame(context, "schedules")))
        }
        registerFormActions(on: router)
        registerAPI(on: router)
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
    }

    // MARK: Reading

    func jobPage(_ filter: JobsFilter) async throws -> JobPage {
        let query = filter.pageQuery(limit: Self.pageSize, scanLimit: configuration.pageScanLimit)
        return try await pool.run { store in try store.asMonitoringStore().jobPage(query) }
    }

    func job(_ id: Int64) async throws -> SmrtJob {
        guard let job = try await pool.run({ store in try store.get(id: id) }) else { throw APIError.notFound("job \(id) not found") }
        return job
    }

    /// The lease rows, read now (a small table), and the time to judge them by (the database's clock).
    func supervisors() async throws -> ([WorkerRecord], Date) {
        try await pool.run { store in
            let now = try store.databaseTime() ?? Date()
            return (try store.listWorkers().sorted { ($0.host, $0.startedAt.timeIntervalSince1970) < ($1.host, $1.startedAt.timeIntervalSince1970) }, now)
        }
    }

    func jobsFilter(_ request: Request, _ context: DashboardContext) throws -> JobsFilter {
        try JobsFilter(try request.uri.decodeQuery(as: JobsFilter.Parameters.self, context: context))
    }

    // MARK: Helpers

    func frame(_ context: DashboardContext, _ section: String, refreshable: Bool = false) -> Pages.Frame {
        let flash = context.session.flatMap { sessions.takeFlash(for: $0.id) }
        return Pages.Frame(configuration: configuration, session: context.session, flash: flash, section: section, refreshable: refreshable)
    }

    static func id(_ context: DashboardContext, _ name: String = "id") throws -> Int64 {
        let text = context.parameters.get(name) ?? ""
        guard let id = Int64(text), id > 0 else { throw APIError.badParameter(name, text, "expected a positive integer") }
        return id
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The body of a request, at most `limit` bytes, as text.
    static func bodyText(_ request: Request, limit: Int = 64 * 1024) async throws -> String {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return String(buffer: buffer)
        } catch {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        }
    }

    /// A form body decoded into `T`.
    static func form<T: Decodable>(_ request: Request, as type: T.Type) async throws -> T {
        let text = try await bodyText(request)
        do {
            return try URLEncodedFormDecoder().decode(T.self, from: text)
        } catch {
            throw APIError(.badRequest, "the form could not be read: \(error)")
        }
    }

    // MARK: Login

    struct LoginForm: Decodable {
        var token: String?
        var next: String?
    }

    /// Where to go after the login: a path on this server only.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    func loginPage(_ request: Request, _ context: DashboardContext) throws -> Response {
        if configuration.token == nil || context.session?.authenticated == true { return Response.redirect(to: "/", type: .found) }
        let next = Self.safeNext(request.uri.queryParameters.get("next").map { String($0) })
        return Pages.response(Pages.login(next: next, error: nil, configuration: configuration))
    }

    func login(_ request: Request, _ context: DashboardContext) async throws -> Response {
        guard let token = configuration.token else { return Response.redirect(to: "/", type: .normal) }
        let form = try await Self.form(request, as: LoginForm.self)
        let next = Self.safeNext(form.next)
        guard let given = form.token, SessionStore.constantTimeEquals(given, token) else {
            actions.logger.warning("rejected a login with a wrong token", metadata: ["event": "auth_failed"])
            return Pages.response(Pages.login(next: next, error: "Wrong token.", configuration: configuration), status: .unauthorized)
        }
        // A new id at login, so a session id planted before cannot be used after.
        if let old = context.session { sessions.remove(id: old.id) }
        let session = sessions.create(authenticated: true)
        var response = Response.redirect(to: next, type: .normal)
        response.setCookie(AccessMiddleware.sessionCookie(session.id))
        actions.logger.info("a browser logged in", metadata: ["event": "login"])
        return response
    }

    func logout(_ request: Request, _ context: DashboardContext) async throws -> Response {
        struct LogoutForm: Decodable { var csrf: String? }
        let form = try await Self.form(request, as: LogoutForm.self)
        if let session = context.session {
            guard let sent = form.csrf, SessionStore.constantTimeEquals(sent, session.csrfToken) else {
                throw APIError.forbidden("missing or wrong CSRF token")
            }
            sessions.remove(id: session.id)
        }
        var response = Response.redirect(to: configuration.token == nil ? "/" : "/login", type: .normal)
        response.setCookie(Cookie(name: SessionStore.cookieName, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }
}
