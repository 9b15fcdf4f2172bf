import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SmrtJobs

/// Who may do what, before any route runs (see docs/dashboard.md, "Security model"):
///
/// - Without a token (loopback only) the `Host` must be a loopback name, so a page on another site cannot reach
///   the dashboard through DNS rebinding.
/// - With a token, `/api/` and `/metrics` need `Authorization: Bearer <token>` or a logged-in session cookie;
///   pages need the session (else they redirect to the login form). The token is compared in constant time.
/// - Every POST: 403 in read-only mode. A form POST (pages) must be same-origin (`Origin`, else `Referer`, names
///   the `Host`) and carry the session's CSRF token (checked by the route, which reads the form). An API POST
///   is either authorised by the bearer token, or must send `Content-Type: application/json` (which a page on
///   another site cannot send without a CORS preflight this server never grants), be same-origin when it says
///   where it comes from, and, when a session cookie authorises it, carry the session's `X-CSRF-Token`.
///
/// Errors come back as `{"error": "…"}` for `/api/` and `/metrics`, as a page otherwise; every response gets
/// the security headers (CSP without inline scripts, no framing, no sniffing, no caching).
struct AccessMiddleware: RouterMiddleware {
    typealias Context = DashboardContext

    let configuration: DashboardConfiguration
    let sessions: SessionStore
    let logger: Logger

    static let authorizationField = HTTPField.Name("Authorization")!
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let kind = RouteKind(path: path)
        var context = context
        var newSession: SessionStore.Session?
        var response: Response
        do {
            try checkHost(request)
            if kind != .publicResource {
                try authenticate(request, kind: kind, context: &context, newSession: &newSession)
            }
            if request.method == .post, kind != .publicResource {
                try checkPost(request, kind: kind, context: context)
            }
            response = try await next(request, context)
        } catch let redirect as LoginRedirect {
            response = Response.redirect(to: redirect.location, type: .found)
        } catch {
            let failure = Self.apiError(error)
            if failure.status.code >= 500 {
                logger.error("\(request.method) \(path) failed: \(failure.message)", metadata: ["event": "request_failed"])
            }
            response = kind == .api || kind == .metrics
                ? JSONResponse.error(failure)
                : Pages.errorPage(failure, configuration: configuration, session: context.session)
        }
        if let newSession {
            response.setCookie(Self.sessionCookie(newSession.id))
        }
        Self.addSecurityHeaders(&response)
        return response
    }

    /// What a failure means as HTTP (router errors such as 404 and 413 keep their status).
    static func apiError(_ error: Error) -> APIError {
        if let error = error as? HTTPError {
            return APIError(error.status, error.body ?? error.status.reasonPhrase)
        }
        if let error = error as? any HTTPResponseError {
            return APIError(error.status, error.status.reasonPhrase)
        }
        return APIError.from(error)
    }

    private func checkHost(_ request: Request) throws {
        guard configuration.token == nil else { return }
        guard let host = RequestOrigin.host(of: request), let name = RequestOrigin.hostName(ofAuthority: host),
            DashboardConfiguration.isLoopback(name)
        else {
            throw APIError.forbidden("this dashboard has no token and answers only to a loopback Host (127.0.0.1, localhost, [::1])")
        }
    }

    private func authenticate(
        _ request: Request, kind: RouteKind, context: inout Context, newSession: inout SessionStore.Session?
    ) throws {
        let cookieSession = sessions.session(id: request.cookies[SessionStore.cookieName]?.value)
        if kind == .login {
            context.session = cookieSession
            return
        }
        guard let token = configuration.token else {
            // No token: everyone on this machine is trusted; browsers still get a session for their CSRF token.
            if let cookieSession {
                context.session = cookieSession
            } else if kind == .page {
                let session = sessions.create(authenticated: true)
                context.session = session
                newSession = session
            }
            return
        }
        if let header = request.headers[Self.authorizationField] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
            }
            guard SessionStore.constantTimeEquals(String(parts[1]).trimmingCharacters(in: .whitespaces), token) else {
                logger.warning("rejected a wrong bearer token for \(request.method) \(request.uri.path)", metadata: ["event": "auth_failed"])
                throw APIError.unauthorized("wrong bearer token")
            }
            context.viaBearer = true
            context.session = cookieSession?.authenticated == true ? cookieSession : nil
            return
        }
        if let cookieSession, cookieSession.authenticated {
            context.session = cookieSession
            return
        }
        if kind == .page {
            if request.method == .get {
                throw LoginRedirect(location: "/login?next=" + URLQuery.escape(request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")))
            }
            throw APIError.unauthorized("log in first")
        }
        throw APIError.unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    }

    private func checkPost(_ request: Request, kind: RouteKind, context: Context) throws {
        if configuration.readOnly && kind != .login {
            throw APIError.forbidden("this dashboard is read-only: actions are disabled")
        }
        switch kind {
        case .page, .login:
            guard RequestOrigin.isSameOrigin(request) else {
                throw APIError.forbidden("cross-origin form post refused: Origin (or Referer) must match the Host this page was served on")
            }
        case .api, .metrics:
            if context.viaBearer { return }
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("application/json") else {
                throw APIError.forbidden("an API POST without a bearer token must send Content-Type: application/json")
            }
            if RequestOrigin.hasOriginHeaders(request), !RequestOrigin.isSameOrigin(request) {
                throw APIError.forbidden("cross-origin API call refused: Origin must match the Host")
            }
            if configuration.token != nil {
                guard let session = context.session, let sent = request.headers[Self.csrfHeader],
                    SessionStore.constantTimeEquals(sent, session.csrfToken)
                else { throw APIError.forbidden("missing or wrong X-CSRF-Token for a session-authorised API call") }
            }
        case .publicResource:
            return
        }
    }

    static func sessionCookie(_ id: String) -> Cookie {
        Cookie(name: SessionStore.cookieName, value: id, path: "/", httpOnly: true, sameSite: .strict)
    }

    static func addSecurityHeaders(_ response: inout Response) {
        response.headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
    }
}

/// What a path is, for the access rules.
enum RouteKind: Equatable {
    /// HTML pages and their form actions.
    case page
    /// `/login` and `/logout`: reachable without a session.
    case login
    /// `/api/…`.
    case api
    case metrics
    /// `/static/…`: the stylesheet and script, the same for everyone.
    case publicResource

    init(path: String) {
        if path == "/api" || path.hasPrefix("/api/") {
            self = .api
        } else if path == "/metrics" {
            self = .metrics
        } else if path.hasPrefix("/static/") {
            self = .publicResource
        } else if path == "/login" || path == "/logout" {
            self = .login
        } else {
            self = .page
        }
    }
}

/// Thrown to send a browser without a session to the login form.
struct LoginRedirect: Error {
    var location: String
}
