extension JSONValue {
    /// The length in UTF-8 bytes of `jsonText`, counted without building the text: what limits on stored or
    /// sent JSON (a job's args in a RUN message) compare, for values that may be megabytes large.
    public var jsonByteCount: Int {
        switch self {
        case .null: return 4
        case .bool(let b): return b ? 4 : 5
        case .int(let i): return Self.digits(i)
        case .double:
            // Rare, and its shortest form is only known by formatting it.
            return jsonText.utf8.count
        case .string(let s): return Self.quotedByteCount(s)
        case .array(let items):
            var count = 2 + max(0, items.count - 1)
            for item in items { count += item.jsonByteCount }
            return count
        case .object(let members):
            var count = 2 + max(0, members.count - 1)
            for (key, value) in members { count += Self.quotedByteCount(key) + 1 + value.jsonByteCount }
            return count
        }
    }

    /// Bytes of `appendQuoted(s)`: quotes, two-byte escapes for `"` `\` LF CR TAB, `\u00XX` for other control
    /// characters, everything else as its UTF-8 bytes (every byte of a multi-byte character is ≥ 0x80).
    static func quotedByteCount(_ s: String) -> Int {
        var count = 2
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0A, 0x0D, 0x09: count += 2
            case ..<0x20: count += 6
            default: count += 1
            }
        }
        return count
    }

    private static func digits(_ value: Int64) -> Int {
        if value == .min { return 20 }
        var n = value < 0 ? -value : value
        var count = value < 0 ? 2 : 1
        while n >= 10 {
            n /= 10
            count += 1
        }
        return count
    }
}
