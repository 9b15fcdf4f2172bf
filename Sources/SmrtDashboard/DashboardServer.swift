import Foundation
import Hummingbird
import Logging
import NIOCore
import SmrtBackends
import SmrtJobs

/// `smrt-dashboard`: opens the database named by `--db` (any backend `Backends.open` knows, no code of its
/// own per backend), keeps the overview cache fresh, and serves the pages, the API and `/metrics` with
/// Hummingbird.
///
/// ```swift
/// let server = try await DashboardServer.open(configuration, logger: logger)
/// try await server.run { url in print(url) }   // until SIGTERM or SIGINT
/// await server.close()
/// ```
public final class DashboardServer: Sendable {
    public let configuration: DashboardConfiguration
    let logger: Logger
    let pool: StorePool
    let cacheExecutor: StoreExecutor<any JobStore & ScheduleStore>
    let cache: OverviewCache
    let metrics: ClusterMetrics
    let sessions = SessionStore()
    let closed = Locked(false)

    private init(
        configuration: DashboardConfiguration, logger: Logger, pool: StorePool,
        cacheExecutor: StoreExecutor<any JobStore & ScheduleStore>
    ) {
        self.configuration = configuration
        self.logger = logger
        self.pool = pool
        self.cacheExecutor = cacheExecutor
        let metrics = ClusterMetrics()
        self.metrics = metrics
        cache = OverviewCache(
            executor: cacheExecutor, interval: configuration.refreshInterval, maxShare: configuration.refreshShare, logger: logger,
            onRefresh: { snapshot in metrics.apply(snapshot) })
    }

    /// Opens the database `configuration.database` names and starts the cache, logging to stderr in
    /// `configuration.logFormat`.
    public static func open(_ configuration: DashboardConfiguration) async throws -> DashboardServer {
        try await open(configuration, logger: DashboardLogHandler.logger(format: configuration.logFormat))
    }

    /// Opens the database `configuration.database` names and starts the cache.
    /// - Throws: `DashboardError.usage` for a malformed `--db` or bad settings, `.failure` when the database
    ///   cannot be opened (missing, not a queue, unreachable); messages name the database without its password.
    public static func open(_ configuration: DashboardConfiguration, logger: Logger) async throws -> DashboardServer {
        try configuration.validate()
        let backend: any JobBackend
        do {
            backend = try Backends.open(configuration.database)
        } catch let error as SmrtJobsError {
            let usage = if case .invalidValue = error { true } else { false }
            let message = "cannot open database '\(ArgumentRedaction.redact(text: configuration.database))': \(error)"
            throw usage ? DashboardError.usage(message) : DashboardError.failure(message)
        }
        return try await open(configuration, backend: backend, logger: logger)
    }

    /// Serves the database of `backend` (tests pass a memory backend).
    public static func open(
        _ configuration: DashboardConfiguration, backend: any JobBackend, logger: Logger
    ) async throws -> DashboardServer {
        try configuration.validate()
        // Read-only: the connections cannot write either. Never created or migrated by the dashboard.
        let access: StoreAccess = configuration.readOnly ? .readOnly : .readWrite
        let pool: StorePool
        let cacheExecutor: StoreExecutor<any JobStore & ScheduleStore>
        do {
            pool = try await StorePool.open(backend, access: access, count: configuration.connections)
            do {
                cacheExecutor = try await StoreExecutor(name: "smrt-dash-cache") { try backend.openStore(.readOnly) }
            } catch {
                await pool.close()
                throw error
            }
        } catch let error as SmrtJobsError {
            switch error {
            case .noSuchDatabase, .notAQueueDatabase: throw DashboardError.failure(ArgumentRedaction.redact(text: error.description))
            case .invalidValue: throw DashboardError.usage("cannot open database '\(backend.displayName)': \(error)")
            default: throw DashboardError.failure(ArgumentRedaction.redact(text: "cannot open database '\(backend.displayName)': \(error)"))
            }
        }
        let server = DashboardServer(configuration: configuration, logger: logger, pool: pool, cacheExecutor: cacheExecutor)
        server.cache.start()
        return server
    }

    /// The router with every route behind the access rules.
    public func router() -> Router<DashboardContext> {
        let router = Router(context: DashboardContext.self)
        router.add(middleware: AccessMiddleware(configuration: configuration, sessions: sessions, logger: logger))
        let actions = DashboardActions(pool: pool, cache: cache, logger: logger)
        DashboardRoutes(
            configuration: configuration, pool: pool, cache: cache, metrics: metrics, sessions: sessions, actions: actions
        ).register(on: router)
        return router
    }

    /// The Hummingbird application on `configuration.host:port`; `onListening` gets the URL once bound.
    public func application(onListening: @escaping @Sendable (String) -> Void = { _ in }) -> some ApplicationProtocol {
        var serverLogger = logger
        serverLogger.logLevel = .warning
        let host = configuration.host
        return Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                onListening(Self.url(host: host, port: port))
            },
            logger: serverLogger)
    }

    /// `http://127.0.0.1:8080/`, `http://[::1]:8080/`.
    static func url(host: String, port: Int) -> String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "http://\(shown):\(port)/"
    }

    /// Serves until SIGTERM or SIGINT (a graceful stop: requests in progress finish), then returns.
    public func run(onListening: @escaping @Sendable (String) -> Void) async throws {
        let logger = logger
        let configuration = configuration
        let app = application { url in
            onListening(url)
            logger.info(
                "listening on \(url)",
                metadata: [
                    "event": "dashboard_started", "url": "\(url)", "read_only": "\(configuration.readOnly)",
                    "token": "\(configuration.token == nil ? "none" : "required")",
                ])
        }
        do {
            try await app.runService()
        } catch {
            throw DashboardError.failure("cannot serve on \(Self.url(host: configuration.host, port: configuration.port)): \(error)")
        }
        logger.info("stopped", metadata: ["event": "dashboard_stopped"])
    }

    /// Waits (a bounded time) until the overview cache holds its first snapshot: tests and the first page.
    @discardableResult
    func waitForFirstRefresh(timeout: Duration = .seconds(10)) async -> Bool {
        await cache.current(waitingAtMost: timeout) != nil
    }

    /// Stops the cache and closes every connection (once).
    public func close() async {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        await cache.stop()
        await cacheExecutor.close()
        await pool.close()
    }
}
