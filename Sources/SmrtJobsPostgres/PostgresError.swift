import CLibPQ
import Foundation
import SmrtJobs

/// Sorts PostgreSQL's errors into `DatabaseErrorKind`: the one place that reads SQLSTATEs and libpq's
/// connection messages. Every message names the server as `host:port/dbname`, never a password.
enum PostgresError {
    /// The class of a SQLSTATE.
    static func kind(sqlState: String) -> DatabaseErrorKind {
        switch sqlState {
        case "40001", "40P01", "55P03": return .busy  // serialization failure, deadlock, lock not available
        case "57P01", "57P02", "57P03": return .unavailable  // admin or crash shutdown, cannot connect now
        case "53300": return .unavailable  // too many connections: passes as others disconnect
        case "28000", "28P01", "3D000": return .fatal  // authorization, no such database
        case "25006": return .fatal  // a write in a read-only transaction, as SQLite's SQLITE_READONLY
        default: break
        }
        switch sqlState.prefix(2) {
        case "08": return .unavailable  // connection exception
        case "53", "58", "XX": return .fatal  // insufficient resources (disk full, ...), system error, internal error
        case "22", "23": return .badInput  // data exception, integrity constraint violation
        default: return .other
        }
    }

    /// The error of a failed call, from its result.
    static func failure(_ result: OpaquePointer, _ connection: PostgresConnection) -> SmrtJobsError {
        let sqlState = field(result, "C")
        var message = field(result, "M") ?? PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if PQstatus(connection.handle) == CONNECTION_BAD || sqlState == nil && message.isEmpty {
            connection.markBroken()
            return lost(connection, detail: message.isEmpty ? connectionMessage(connection) : message)
        }
        guard let sqlState else {
            // libpq's own errors (no SQLSTATE): a dead socket shows up here before PQstatus says so.
            if looksLikeLostConnection(message) {
                connection.markBroken()
                return lost(connection, detail: message)
            }
            return .database(kind: .other, message: scrub(message, connection))
        }
        let kind = kind(sqlState: sqlState)
        if kind == .unavailable { connection.markBroken() }
        return .database(kind: kind, message: "\(scrub(message, connection)) (SQLSTATE \(sqlState), \(connection.serverName))")
    }

    /// The error of a call that returned no result at all.
    static func noResult(_ connection: PostgresConnection) -> SmrtJobsError {
        connection.markBroken()
        return lost(connection, detail: connectionMessage(connection))
    }

    static func lost(_ connection: PostgresConnection, detail: String) -> SmrtJobsError {
        let suffix = detail.isEmpty ? "" : ": \(scrub(detail, connection))"
        return .database(kind: .unavailable, message: "lost the connection to PostgreSQL at \(connection.serverName)\(suffix)")
    }

    /// The error of a connect that failed: libpq gives no SQLSTATE here, only the server's (or its own) message.
    static func connectFailure(_ handle: OpaquePointer, settings: PostgresSettings) -> SmrtJobsError {
        let server = PostgresConnection.serverName(handle)
        var message = PQerrorMessage(handle).map { String(cString: $0) } ?? ""
        message = oneLine(message)
        message = PostgresSettings.scrub(message, url: settings.connectionString, password: settings.password)
        let lowered = message.lowercased()
        if lowered.contains("database \""), lowered.contains("\" does not exist") {
            return .noSuchDatabase(name: settings.displayName)
        }
        // An option libpq checks only now (from the environment, e.g. PGSSLMODE, or one `PostgresSettings` does not
        // know): the settings are wrong, not the server.
        if lowered.contains("invalid integer value") || lowered.contains("invalid port number")
            || lowered.range(of: #"invalid [a-z_]+ value"#, options: .regularExpression) != nil
        {
            return .invalidValue(field: "database", value: settings.displayName, reason: message)
        }
        let authentication = [
            "password authentication failed", "no password supplied", "authentication failed", "pg_hba.conf",
            "permission denied", "role \"", "password is required", "does not support",
        ]
        if PQconnectionNeedsPassword(handle) != 0 || authentication.contains(where: lowered.contains) {
            return .database(kind: .fatal, message: "cannot connect to PostgreSQL at \(server): \(message)")
        }
        return .database(kind: .unavailable, message: "cannot connect to PostgreSQL at \(server): \(message)")
    }

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
        return String(cString: value)
    }

    private static func connectionMessage(_ connection: PostgresConnection) -> String {
        oneLine(PQerrorMessage(connection.handle).map { String(cString: $0) } ?? "")
    }

    private static func looksLikeLostConnection(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return ["server closed the connection", "no connection to the server", "connection to server", "could not receive",
            "could not send", "terminating connection", "ssl syscall", "broken pipe", "connection reset"]
            .contains(where: lowered.contains)
    }

    /// libpq's messages span lines ("FATAL:  …\n"): one line, without the severity.
    static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ").replacingOccurrences(of: "FATAL:  ", with: "")
            .replacingOccurrences(of: "ERROR:  ", with: "")
    }

    private static func scrub(_ message: String, _ connection: PostgresConnection) -> String {
        PostgresSettings.scrub(message, url: connection.settings.connectionString, password: connection.settings.password)
    }
}
