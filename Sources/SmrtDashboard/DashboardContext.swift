import Hummingbird

/// The request context of the dashboard's router: who the caller is, as `AccessMiddleware` found out.
public struct DashboardContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The browser session (cookie), when the request came with a valid one or got a new one.
    var session: SessionStore.Session?
    /// True when the request presented the right bearer token.
    var viaBearer = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Request bodies are small forms and JSON objects.
    public var maxUploadSize: Int { 64 * 1024 }
}
