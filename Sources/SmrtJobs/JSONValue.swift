import Foundation

/// A JSON value: job arguments, method results and schedule configuration are stored as JSON.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The members when this is an object, else nil.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Integers, and doubles without a fractional part.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e18: return Int64(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? container.decode([String: JSONValue].self) {
            self = .object(o)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// Parses JSON text. Throws `SmrtJobsError.invalidJSON` naming what was wrong and where.
    public static func parse(_ text: String, what: String = "JSON") throws -> JSONValue {
        var text = text
        let result = text.withUTF8 { JSONParser.parseReportingOffset($0) }
        switch result {
        case .success(let value):
            return value
        case .failure(let failure):
            if let problem = failure.problem { throw SmrtJobsError.invalidJSON(what: what, reason: describe(problem, at: failure.offset)) }
            guard let found = failure.found else {
                throw SmrtJobsError.invalidJSON(what: what, reason: "unexpected end of input at byte \(failure.offset)")
            }
            let shown = (0x21..<0x7F).contains(found) ? "'\(Character(Unicode.Scalar(found)))'" : String(format: "byte 0x%02X", found)
            throw SmrtJobsError.invalidJSON(what: what, reason: "unexpected \(shown) at byte \(failure.offset)")
        }
    }

    private static func describe(_ problem: JSONParser.Problem, at offset: Int) -> String {
        func hex(_ code: UInt32) -> String {
            let digits = String(code, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
        switch problem {
        case .tooDeep:
            return "nested too deeply at byte \(offset): at most \(JSONParser.maxNestingDepth) levels of arrays and objects"
        case .loneSurrogate(let code) where code < 0xDC00:
            return "invalid \\u escape at byte \(offset): lone surrogate \\u\(hex(code)) "
                + "(a high surrogate must be followed by a low one, \\uDC00-\\uDFFF)"
        case .loneSurrogate(let code):
            return "invalid \\u escape at byte \(offset): lone surrogate \\u\(hex(code)) (a low surrogate must follow a high one)"
        case .badUnicodeEscape:
            return "invalid \\u escape at byte \(offset): expected four hex digits"
        case .badEscape(let byte):
            let shown = (0x21..<0x7F).contains(byte) ? "\\\(Character(Unicode.Scalar(byte)))" : String(format: "\\ and byte 0x%02X", byte)
            return "invalid escape '\(shown)' at byte \(offset) (JSON escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
        }
    }

    /// Parses JSON text that must be an object (job args, schedule config).
    public static func parseObject(_ text: String, what: String = "args") throws -> [String: JSONValue] {
        guard let members = try parse(text, what: what).objectValue else {
            throw SmrtJobsError.invalidJSON(what: what, reason: "expected a JSON object like {\"key\": \"value\"}")
        }
        return members
    }

    /// Compact JSON text with sorted keys (stable, so stored rows and logs diff well).
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite {
                if d.rounded() == d && abs(d) < 1e15 { out += String(Int64(d)) } else { out += "\(d)" }
            } else {
                out += "null"
            }
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.appendQuoted(key, to: &out)
                out += ":"
                o[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    /// Appends `s` as a JSON string literal (quoted and escaped).
    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
