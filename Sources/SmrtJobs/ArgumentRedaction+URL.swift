/// Passwords in URLs: `postgres://svc:topsecret@db/app` → `postgres://svc:[REDACTED]@db/app`, in any scheme.
extension ArgumentRedaction {
    /// `text` with the password of every `scheme://user:password@host` replaced by `[REDACTED]`. The user
    /// name and host stay, so a reader still knows which account and server were meant. A password that
    /// itself holds `@` or `/` is covered up to the last `@` before the next space or quote;
    /// `host:8080/path@x` (a port, not a password) is left alone.
    public static func redactURLPasswords(_ text: String) -> String {
        guard text.utf8.count >= 3, text.contains("://") else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        var i = 0
        while i < bytes.count {
            guard startsSchemeSeparator(bytes, at: i) else {
                out.append(bytes[i])
                i += 1
                continue
            }
            let authorityStart = i + 3
            if let (colon, at) = passwordBounds(bytes, authorityStart: authorityStart) {
                out.append(contentsOf: bytes[i...colon])
                out.append(contentsOf: placeholderText.utf8)
                i = at
                changed = true
            } else {
                out.append(contentsOf: bytes[i..<authorityStart])
                i = authorityStart
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// `://` right after a scheme character.
    private static func startsSchemeSeparator(_ bytes: [UInt8], at i: Int) -> Bool {
        guard i > 0, i + 2 < bytes.count, bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: "/"),
            bytes[i + 2] == UInt8(ascii: "/")
        else { return false }
        let before = bytes[i - 1]
        return isSchemeByte(before)
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    /// The `:` before the password and the `@` after it, when the URL starting at `authorityStart` has a
    /// non-empty password.
    private static func passwordBounds(_ bytes: [UInt8], authorityStart: Int) -> (colon: Int, at: Int)? {
        let stops: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0x22, 0x27, 0x3C, 0x3E, 0x60]  // space, tab, CR, LF, " ' < > `
        var end = authorityStart
        while end < bytes.count && !stops.contains(bytes[end]) { end += 1 }
        guard let at = bytes[authorityStart..<end].lastIndex(of: UInt8(ascii: "@")),
            let colon = bytes[authorityStart..<at].firstIndex(of: UInt8(ascii: ":")), colon + 1 < at
        else { return nil }
        // The user name is one path-free word; otherwise the ':' belongs to a port or a path.
        let pathBytes: Set<UInt8> = [UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#")]
        if bytes[authorityStart..<colon].contains(where: pathBytes.contains) { return nil }
        let password = bytes[(colon + 1)..<at]
        if let slash = password.firstIndex(where: pathBytes.contains) {
            let beforeSlash = password[password.startIndex..<slash]
            if !beforeSlash.isEmpty && beforeSlash.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return nil }  // host:port/path
        }
        return (colon, at)
    }
}
