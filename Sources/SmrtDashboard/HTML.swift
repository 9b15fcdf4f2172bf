import Foundation

/// A piece of HTML. Every value interpolated into one is escaped (`&`, `<`, `>`, `"`, `'`) unless it is `HTML`
/// itself, so markup can only come from the literals written in this module:
///
/// ```swift
/// let row: HTML = "<td class=\"queue\">\(job.queue)</td>"   // job.queue is escaped
/// let page: HTML = "<table>\(rows)</table>"                  // rows: [HTML], joined as they are
/// ```
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    public private(set) var text: String

    public init(stringLiteral value: String) {
        text = value
    }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
    }

    /// Markup written by this module (never user data).
    init(trusted text: String) {
        self.text = text
    }

    public var description: String { text }

    public static let empty = HTML(trusted: "")

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        public mutating func appendInterpolation(_ html: HTML) {
            text += html.text
        }

        public mutating func appendInterpolation(_ parts: [HTML]) {
            for part in parts { text += part.text }
        }

        public mutating func appendInterpolation(_ value: String) {
            text += HTML.escape(value)
        }

        public mutating func appendInterpolation(_ value: String?) {
            text += HTML.escape(value ?? "-")
        }

        public mutating func appendInterpolation<Value: BinaryInteger>(_ value: Value) {
            text += String(value)
        }

        public mutating func appendInterpolation(_ value: Double) {
            text += HTML.escape(String(value))
        }
    }

    /// `text` with the five characters that matter in HTML text and quoted attributes replaced by entities.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// Parts joined with `separator` (itself HTML).
    public static func join(_ parts: [HTML], separator: HTML = .empty) -> HTML {
        HTML(trusted: parts.map(\.text).joined(separator: separator.text))
    }
}
