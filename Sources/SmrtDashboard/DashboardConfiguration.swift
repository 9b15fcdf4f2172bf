import Foundation

/// How `smrt-dashboard` serves: where it listens, the token that guards it, and whether actions are allowed.
public struct DashboardConfiguration: Sendable {
    /// `--db` as every command takes it (a SQLite path or a PostgreSQL URL).
    public var database: String
    public var host: String
    public var port: Int
    /// The bearer token API calls and the login must present; nil: no token (loopback only).
    public var token: String?
    /// Pages only: every action answers 403.
    public var readOnly: Bool

    public init(database: String, host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, readOnly: Bool = false) {
        self.database = database
        self.host = host
        self.port = port
        self.token = token
        self.readOnly = readOnly
    }
}
