import CLibPQ
import Foundation
import SmrtJobs

/// A `postgres://` URL (or a libpq `key=value` string), checked by libpq's own parser before anything connects,
/// with what every connection adds to it and the form that may be shown.
public struct PostgresSettings: Sendable, Equatable {
    /// The string as given. Holds the password when the URL has one: never log or show it.
    let connectionString: String
    /// `connectionString` with every password replaced, for log lines and error messages.
    public let displayName: String
    /// The password given in the string (as libpq decoded it), so messages can be scrubbed of it.
    let password: String?
    /// How long a statement waits for a row or table lock another session holds before failing as `busy`
    /// (`lock_timeout`; 0 waits for ever). Claims never wait: they skip locked rows.
    public var lockTimeoutMs: Int32 = 5000
    /// How long a connect may take, unless the string or `PGCONNECT_TIMEOUT` says otherwise.
    static let defaultConnectTimeoutSeconds = 5
    /// What replaces a secret in text (as `ArgumentRedaction` writes it).
    static let redacted = "[REDACTED]"

    /// Parses `url` with `PQconninfoParse`.
    ///
    /// - Throws: `SmrtJobsError.invalidValue` (field "database") for a string libpq cannot parse.
    public init(url: String, lockTimeoutMs: Int32 = 5000) throws {
        connectionString = url
        self.lockTimeoutMs = lockTimeoutMs
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &message) else {
            var reason = message.map { String(cString: $0) } ?? "cannot parse it"
            if let message { PQfreemem(message) }
            reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            let shown = Self.redact(url)
            throw SmrtJobsError.invalidValue(
                field: "database", value: shown, reason: Self.scrub(reason, url: url, password: nil))
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var entry = options
        while let keyword = entry.pointee.keyword {
            if let value = entry.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            entry += 1
        }
        let password = values["password"]
        self.password = password.flatMap { $0.isEmpty ? nil : $0 }
        displayName = Self.redact(url)
        if let reason = Self.invalidOption(values) {
            throw SmrtJobsError.invalidValue(
                field: "database", value: displayName, reason: Self.scrub(reason, url: url, password: self.password))
        }
    }

    /// Options libpq parses but checks only when it connects (a port that is not a number, an unknown
    /// `sslmode`): checked here so a mistyped URL is a usage error before anything connects, never a
    /// connection failure. Nil when every option given is valid.
    static func invalidOption(_ values: [String: String]) -> String? {
        func isInteger(_ text: String) -> Bool {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let digits = trimmed.first == "-" || trimmed.first == "+" ? trimmed.dropFirst() : Substring(trimmed)
            return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) && digits.count < 10
        }
        // One port per host (a comma-separated list); an empty one means the default.
        if let ports = values["port"] {
            for port in ports.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                let trimmed = port.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard isInteger(trimmed), let number = Int(trimmed), (1...65535).contains(number) else {
                    return "invalid port \"\(port)\" (expected a number from 1 to 65535)"
                }
            }
        }
        for keyword in ["connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"] {
            if let value = values[keyword], !isInteger(value) {
                return "invalid \(keyword) \"\(value)\" (expected a whole number)"
            }
        }
        let choices: [(String, [String])] = [
            ("sslmode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
            ("gssencmode", ["disable", "prefer", "require"]),
            ("channel_binding", ["disable", "prefer", "require"]),
            ("target_session_attrs", ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]),
        ]
        for (keyword, allowed) in choices {
            if let value = values[keyword], !value.isEmpty, !allowed.contains(value) {
                return "invalid \(keyword) \"\(value)\" (expected one of \(allowed.joined(separator: ", ")))"
            }
        }
        return nil
    }

    /// `url` with the password of `user:password@` and of a `password=` parameter replaced by `[REDACTED]`.
    public static func redact(_ url: String) -> String {
        var text = ArgumentRedaction.redactURLPasswords(url)
        // `?password=…` in a URL, or `password=…` in a key=value string.
        var searchStart = text.startIndex
        while let range = text.range(of: "password=", options: .caseInsensitive, range: searchStart..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            guard before == nil || before == "?" || before == "&" || before == " " else {
                searchStart = range.upperBound
                continue
            }
            var end = range.upperBound
            if end < text.endIndex, text[end] == "'" {
                // A quoted key=value value runs to the next unescaped quote.
                end = text.index(after: end)
                while end < text.endIndex, text[end] != "'" {
                    if text[end] == "\\" { end = text.index(after: end) }
                    if end < text.endIndex { end = text.index(after: end) }
                }
                if end < text.endIndex { end = text.index(after: end) }
            } else {
                while end < text.endIndex, text[end] != "&", text[end] != " ", text[end] != "#" { end = text.index(after: end) }
            }
            if end == range.upperBound {
                searchStart = range.upperBound
                continue
            }
            text.replaceSubrange(range.upperBound..<end, with: Self.redacted)
            searchStart = text.index(range.upperBound, offsetBy: Self.redacted.count)
        }
        return text
    }

    /// `message` without the password of `url` (decoded or as written) and with URL passwords redacted: what
    /// libpq and the server say is shown to people.
    static func scrub(_ message: String, url: String, password: String?) -> String {
        var text = redact(message)
        var secrets: [String] = []
        if let password, !password.isEmpty { secrets.append(password) }
        if let raw = rawURLPassword(url), !raw.isEmpty { secrets.append(raw) }
        for secret in secrets where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: Self.redacted)
        }
        return text
    }

    /// The password as written in `scheme://user:password@host`, percent-encoding and all.
    private static func rawURLPassword(_ url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        let raw = String(authority[authority.index(after: colon)..<at])
        return raw.isEmpty ? nil : raw
    }
}
