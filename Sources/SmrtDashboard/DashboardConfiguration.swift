import Foundation

/// How `smrt-dashboard` serves: where it listens, the token that guards it, and whether actions are allowed.
public struct DashboardConfiguration: Sendable {
    /// How log lines are written to stderr: `2026-11-29T07:00:00.123Z info listening url=…`, or one JSON object
    /// per line, as the supervisor writes them.
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    /// `--db` as every command takes it (a SQLite path or a PostgreSQL URL).
    public var database: String
    public var host: String
    /// 0: a free port the system picks (the URL printed at start says which).
    public var port: Int
    /// The bearer token API calls and the login must present; nil: no token (loopback only).
    public var token: String?
    /// Pages only: every action answers 403 and no button is shown.
    public var readOnly: Bool
    public var logFormat: LogFormat
    /// The shortest time between two refreshes of the cached overview figures; a refresh that takes long
    /// stretches it (see `OverviewCache`).
    public var refreshInterval: Duration
    /// The largest share of the time the cache may spend refreshing (0 < share ≤ 1): after a refresh that took
    /// `d`, it pauses at least `d × (1 − share) / share`. 0.1 keeps a slow database to ~10 % of one core.
    public var refreshShare: Double
    /// The most rows one job page examines past its cursor (`JobPageQuery.scanLimit`).
    public var pageScanLimit: Int
    /// Connections serving requests (the cache's refreshes have one more of their own).
    public var connections: Int

    public init(
        database: String, host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, readOnly: Bool = false,
        logFormat: LogFormat = .text, refreshInterval: Duration = .seconds(2), refreshShare: Double = 0.1,
        pageScanLimit: Int = 10_000, connections: Int = 2
    ) {
        self.database = database
        self.host = host
        self.port = port
        self.token = token
        self.readOnly = readOnly
        self.logFormat = logFormat
        self.refreshInterval = refreshInterval
        self.refreshShare = refreshShare
        self.pageScanLimit = pageScanLimit
        self.connections = connections
    }

    /// The default `--listen`.
    public static let defaultListen = "127.0.0.1:8080"

    /// Splits `--listen HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:80`, `:0` for loopback and a free
    /// port).
    /// - Throws: `DashboardError.usage` naming the value: no port, a port outside 0…65535, an empty bracket.
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        let bad = { (reason: String) in DashboardError.usage("invalid --listen '\(text)': \(reason) (expected HOST:PORT, e.g. 127.0.0.1:8080)") }
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("an IPv6 address needs its closing ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw bad("no port after the address") }
            portText = rest.dropFirst()
            if host.isEmpty { throw bad("an empty address") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad("no port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw bad("write an IPv6 address in brackets, [::1]:8080") }
        }
        guard let port = Int(portText), (0...65_535).contains(port) else { throw bad("the port must be 0…65535") }
        if host.isEmpty { host = "127.0.0.1" }
        return (String(host), port)
    }

    /// Whether `host` names this machine only (127.0.0.0/8, ::1, localhost): the one place the dashboard may
    /// serve without a token.
    public static func isLoopback(_ host: String) -> Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        let parts = lowered.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }

    /// The rules no flag can break: a non-loopback address needs a token.
    /// - Throws: `DashboardError.usage` (exit 2).
    public func validate() throws {
        if token == nil && !Self.isLoopback(host) {
            throw DashboardError.usage(
                "refusing to listen on \(host) without a token: anyone who can reach it could retry and cancel jobs; "
                    + "pass --token-file FILE, or listen on a loopback address (127.0.0.1, ::1, localhost)")
        }
        if connections < 1 { throw DashboardError.usage("connections must be at least 1") }
        if !(refreshShare > 0 && refreshShare <= 1) {
            throw DashboardError.usage("the refresh share must be above 0 and at most 1, got \(refreshShare)")
        }
        if pageScanLimit < 50 { throw DashboardError.usage("the page scan limit must be at least 50") }
    }

    /// Reads a token file: its first line, trimmed of surrounding white space.
    /// - Throws: `DashboardError.usage` naming the file when it cannot be read or holds no token.
    public static func readToken(file path: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw DashboardError.usage("--token-file '\(path)' \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DashboardError.usage("--token-file '\(path)' is not UTF-8 text")
        }
        let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let token = firstLine.trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { throw DashboardError.usage("--token-file '\(path)' is empty: write the token on its first line") }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw DashboardError.usage("--token-file '\(path)': the token must be printable ASCII without spaces")
        }
        return token
    }
}
