import ArgumentParser
import Foundation
import SmrtDashboard

/// `smrt-dashboard --db DB [--listen HOST:PORT] [--token-file F] [--read-only]`.
struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smrt-dashboard",
        abstract: "Serve the smrt-jobs web dashboard, its JSON API and the cluster's Prometheus /metrics.",
        discussion: """
            Prints the URL it listens on as the first line of stdout; logs go to stderr. Without --token-file it \
            listens on a loopback address only (anyone on this machine may act); with one, API calls and /metrics \
            need 'Authorization: Bearer <token>' and browsers log in once. SIGTERM or SIGINT stop it gracefully. \
            Exit codes: 0 stopped by a signal, 1 failure (database, port), 2 usage error. See docs/dashboard.md.
            """)

    @Option(
        name: .customLong("db"),
        help: ArgumentHelp("The queue: a SQLite file or a postgres:// URL (default: $SMRT_DB).", valueName: "db"))
    var db: String?

    @Option(help: ArgumentHelp("Where to listen; port 0 picks a free one.", valueName: "host:port"))
    var listen: String = DashboardConfiguration.defaultListen

    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp("A file whose first line is the token (required for a non-loopback --listen).", valueName: "file"))
    var tokenFile: String?

    @Flag(name: .customLong("read-only"), help: "Show pages and API data only: every action answers 403.")
    var readOnly = false

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: String = "text"

    @Option(name: .customLong("refresh-interval"), help: .hidden)
    var refreshInterval: Int = 2000

    /// The configuration the flags describe.
    /// - Throws: `DashboardError.usage` naming the bad flag or file.
    func makeConfiguration() throws -> DashboardConfiguration {
        let database = db ?? ProcessInfo.processInfo.environment["SMRT_DB"] ?? ""
        guard !database.isEmpty else {
            throw DashboardError.usage("missing --db (or $SMRT_DB): a SQLite file or a postgres:// URL")
        }
        guard let format = DashboardConfiguration.LogFormat(rawValue: logFormat) else {
            throw DashboardError.usage("--log-format must be text or json, not '\(logFormat)'")
        }
        guard refreshInterval >= 100 else { throw DashboardError.usage("--refresh-interval must be at least 100 ms") }
        let (host, port) = try DashboardConfiguration.parseListen(listen)
        let token = try tokenFile.map(DashboardConfiguration.readToken(file:))
        let configuration = DashboardConfiguration(
            database: database, host: host, port: port, token: token, readOnly: readOnly, logFormat: format,
            refreshInterval: .milliseconds(refreshInterval))
        try configuration.validate()
        return configuration
    }
}
