import Foundation

/// A small RFC 8259 parser straight from UTF-8 bytes.
///
/// `JSONDecoder` costs several microseconds per value, too much for the claim path, which decodes the args
/// of every claimed row; and on Linux its errors do not say where the text went wrong. This parser is
/// used for both: stored columns, and user input through `JSONValue.parse`, whose errors name the offset.
package struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Why parsing stopped, when it is more than "this byte was not expected here".
    private var problem: Problem?

    /// Arrays and objects may nest this deep; deeper input is refused (it would only cost stack).
    package static let maxNestingDepth = 511

    /// Parses a whole document, or nil when it is not valid JSON.
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        // The common case of job args: nothing.
        if bytes.count == 2 && bytes[0] == UInt8(ascii: "{") && bytes[1] == UInt8(ascii: "}") {
            return .object([:])
        }
        return try? parseReportingOffset(bytes).get()
    }

    /// The byte offset at which a document stopped being valid JSON.
    struct Failure: Error {
        var offset: Int
        /// The byte found there, or nil at the end of the input.
        var found: UInt8?
        /// What was wrong, when the byte alone does not say.
        var problem: Problem?
    }

    /// Failures that "unexpected X at byte N" would misname.
    enum Problem: Equatable {
        /// An array or object opened at `maxNestingDepth` levels.
        case tooDeep
        /// A `\u` escape for a surrogate that is not part of a high-low pair (`\uD800` alone).
        case loneSurrogate(UInt32)
        /// A `\u` not followed by four hex digits.
        case badUnicodeEscape
        /// A backslash followed by a character JSON does not escape (`\x`).
        case badEscape(UInt8)
    }

    /// Parses a whole document; on failure says at which byte.
    static func parseReportingOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, Failure> {
        var parser = JSONParser(bytes: bytes)
        if let value = parser.value() {
            parser.skipWhitespace()
            if parser.index == bytes.count { return .success(value) }
        }
        let offset = min(parser.index, bytes.count)
        return .failure(Failure(offset: offset, found: offset < bytes.count ? bytes[offset] : nil, problem: parser.problem))
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func literal(_ text: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        let start = text.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] { return nil }
        index += count
        return value
    }

    private mutating func value() -> JSONValue? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    private mutating func object() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxNestingDepth else { return fail(.tooDeep) }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value() else { return nil }
            // First wins, as with JSONDecoder (our writer never repeats a key).
            if members[key] == nil { members[key] = member }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            return nil
        }
    }

    private mutating func array() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxNestingDepth else { return fail(.tooDeep) }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            guard let element = value() else { return nil }
            elements.append(element)
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            return nil
        }
    }

    /// A string starting at the opening quote.
    private mutating func string() -> String? {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes are the string.
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    let escapeStart = index - 2
                    guard var code = hex4() else { return fail(.badUnicodeEscape, at: escapeStart) }
                    if (0xD800..<0xDC00).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { return fail(.loneSurrogate(code), at: escapeStart) }
                        index += 2
                        guard let low = hex4() else { return fail(.badUnicodeEscape, at: index - 2) }
                        guard (0xDC00..<0xE000).contains(low) else { return fail(.loneSurrogate(code), at: escapeStart) }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(code) {
                        return fail(.loneSurrogate(code), at: escapeStart)
                    }
                    guard let scalar = Unicode.Scalar(code) else { return fail(.badUnicodeEscape, at: escapeStart) }
                    out.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    return fail(.badEscape(e), at: index - 2)
                }
            default:
                if c < 0x20 { return nil }
                out.append(c)
            }
        }
        return nil
    }

    /// Records why parsing stops (and where, if not at the current byte); always nil, for `return fail(...)`.
    private mutating func fail(_ problem: Problem, at offset: Int? = nil) -> JSONValue? {
        if self.problem == nil {
            self.problem = problem
            if let offset { index = offset }
        }
        return nil
    }

    private mutating func fail(_ problem: Problem, at offset: Int? = nil) -> String? {
        let _: JSONValue? = fail(problem, at: offset)
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            v = v << 4 | digit
            index += 1
        }
        return v
    }

    private mutating func number() -> JSONValue? {
        let start = index
        var isInteger = true
        if index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { return nil }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { return nil }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        return Double(text).map(JSONValue.double)
    }

    @inline(__always)
    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
