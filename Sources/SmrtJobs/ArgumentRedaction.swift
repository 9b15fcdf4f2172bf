/// Hides values under keys that look like secrets before job args or error text reach a log line or the
/// database (`last_error`).
///
/// - `redact(_:)` replaces the value of every secret-looking key of a JSON value, at any depth.
/// - `redact(text:)` replaces secret values written into free text: `password=hunter2`, `token: abc`,
///   `"api_key":"k"`, `Authorization: Bearer xyz`, `Cookie: a=1; b=2` (to the end of the line or a quote), and passwords
///   in URLs (`postgres://svc:[REDACTED]@db/app`, any scheme). A secret that is not written as `key=value`,
///   `key: value` or in a URL (e.g. "the password hunter2 is wrong") cannot be recognised and is not redacted.
///
/// A key is secret when it contains one of `secretKeyFragments` (`db_password`, `X-Api-Key`, `privateKey`) or
/// has one of `secretKeyWords` as a whole word (`auth`, `HTTP_AUTH`, `session_id`, `Set-Cookie`, `pwd`), in
/// any case. Words are matched whole: `author` is not `auth`.
public enum ArgumentRedaction {
    /// Key fragments (compared case-insensitively, ignoring `-` and `_`) whose values are replaced.
    public static let secretKeyFragments = [
        "password", "passwd", "token", "secret", "authorization", "apikey", "credential", "privatekey",
    ]
    /// Words that make a key secret when the key has them as a whole word (split at `_`, `-`, `.` and
    /// lower-to-upper case changes), case-insensitively: as fragments they would also catch `author`.
    public static let secretKeyWords: Set<String> = ["auth", "pwd", "session", "sessionid", "cookie", "cookies"]
    public static let placeholder: JSONValue = "[REDACTED]"
    static let placeholderText = "[REDACTED]"

    /// `args` with every secret-looking key's value replaced, at any depth; strings are also passed through
    /// `redact(text:)` (`{"message": "login with password=x failed"}`).
    public static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(redact(text: text))
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members { out[key] = isSecret(key) ? placeholder : redact(member) }
            return .object(out)
        case .array(let items):
            return .array(items.map(redact))
        default:
            return value
        }
    }

    public static func isSecret(_ key: String) -> Bool {
        let normalized = key.lowercased().filter { $0 != "_" && $0 != "-" }
        if secretKeyFragments.contains(where: { normalized.contains($0) }) { return true }
        return words(of: key).contains { secretKeyWords.contains($0) }
    }

    /// `HTTP_AUTH` → http, auth; `sessionId` → session, id; `Set-Cookie` → set, cookie.
    static func words(of key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousWasLower = false
        for character in key {
            guard character.isLetter || character.isNumber else {
                if !current.isEmpty { words.append(current.lowercased()) }
                current = ""
                previousWasLower = false
                continue
            }
            if character.isUppercase && previousWasLower {
                words.append(current.lowercased())
                current = ""
            }
            current.append(character)
            previousWasLower = character.isLowercase || character.isNumber
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }

    /// Keys whose unquoted value in text runs to the end of the line (or a quote): a cookie header holds
    /// several `name=value` pairs, any of which may be a session.
    static func valueRunsToEndOfLine(_ key: String) -> Bool {
        words(of: key).contains { $0 == "cookie" || $0 == "cookies" }
    }

    /// `text` with URL passwords (`redactURLPasswords`) and the values of secret-looking `key=value` /
    /// `key: value` pairs (quoted or not, JSON included) replaced by `[REDACTED]`. Text without any URL or
    /// secret-looking word is returned as it is, cheaply.
    public static func redact(text: String) -> String {
        let text = redactURLPasswords(text)
        guard mayContainSecret(text) else { return text }
        let utf8 = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        var changed = false
        while i < utf8.count {
            // A key: a run of [A-Za-z0-9_.-] starting with a letter, possibly in quotes.
            guard isKeyStart(utf8[i]), i == 0 || !isKeyByte(utf8[i - 1]) else {
                out.append(utf8[i])
                i += 1
                continue
            }
            var end = i
            while end < utf8.count && isKeyByte(utf8[end]) { end += 1 }
            let key = String(decoding: utf8[i..<end], as: UTF8.self)
            out.append(contentsOf: utf8[i..<end])
            i = end
            guard isSecret(key),
                let (separatorEnd, valueRange) = valueAfterKey(utf8, from: end, toEndOfLine: valueRunsToEndOfLine(key))
            else { continue }
            out.append(contentsOf: utf8[end..<separatorEnd])
            let quoted = utf8[valueRange.lowerBound] == UInt8(ascii: "\"") || utf8[valueRange.lowerBound] == UInt8(ascii: "'")
            if quoted { out.append(utf8[valueRange.lowerBound]) }
            out.append(contentsOf: placeholderText.utf8)
            if quoted { out.append(utf8[valueRange.lowerBound]) }
            i = valueRange.upperBound
            changed = true
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    private static func mayContainSecret(_ text: String) -> Bool {
        let lower = text.lowercased()
        return ["pass", "token", "secret", "auth", "key", "credential", "pwd", "session", "cookie"].contains { lower.contains($0) }
    }

    private static func isKeyStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        isKeyStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }

    /// After a key: an optional closing quote, spaces, `=` or `:`, spaces, then the value. Returns where the
    /// separator ends and the value's bytes (quotes included), or nil when no value follows.
    private static func valueAfterKey(_ bytes: [UInt8], from start: Int, toEndOfLine: Bool) -> (Int, Range<Int>)? {
        var i = start
        if i < bytes.count && (bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'")) { i += 1 }
        while i < bytes.count && bytes[i] == UInt8(ascii: " ") { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "=") || bytes[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        while i < bytes.count && bytes[i] == UInt8(ascii: " ") { i += 1 }
        guard i < bytes.count else { return nil }
        let valueStart = i
        let first = bytes[i]
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            i += 1
            while i < bytes.count && bytes[i] != first {
                if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                i += 1
            }
            return (valueStart, valueStart..<min(i + 1, bytes.count))
        }
        // `Authorization: Bearer xyz`: the scheme and its credentials.
        let stops: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0x2C, 0x3B, 0x26, 0x22, 0x27, 0x7D, 0x5D, 0x29]
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") || stops.contains(first) { return nil }
        if toEndOfLine {
            let lineStops: Set<UInt8> = [0x0A, 0x0D, 0x22, 0x27, 0x60]  // LF, CR, " ' `
            while i < bytes.count && !lineStops.contains(bytes[i]) { i += 1 }
            return (valueStart, valueStart..<i)
        }
        while i < bytes.count && !stops.contains(bytes[i]) { i += 1 }
        let word = String(decoding: bytes[valueStart..<i], as: UTF8.self).lowercased()
        if ["bearer", "basic", "token", "digest"].contains(word), i < bytes.count, bytes[i] == 0x20 {
            i += 1
            while i < bytes.count && !stops.contains(bytes[i]) { i += 1 }
        }
        return (valueStart, valueStart..<i)
    }
}
