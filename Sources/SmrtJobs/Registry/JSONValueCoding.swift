import Foundation

/// Conversions between `JSONValue` and Codable types.
enum JSONValueCoding {
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        if let same = value as? T { return same }
        // Decodes from any args object: no need for a JSON round trip through Foundation (jobs without args are
        // the most frequent short jobs).
        if T.self == NoArgs.self, case .object = value { return NoArgs() as! T }
        return try JSONDecoder().decode(T.self, from: Data(value.jsonText.utf8))
    }

    static func encode<T: Encodable>(_ value: T) throws -> JSONValue? {
        if let json = value as? JSONValue { return json }
        if let json = value as? JSONValue? { return json }
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// A readable reason for a decoding error: which key, what was wrong.
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _): return "missing argument '\(key.stringValue)'"
        case .typeMismatch(let type, let context): return "argument '\(path(context))' is not a \(type)"
        case .valueNotFound(let type, let context): return "argument '\(path(context))' is null, expected \(type)"
        case .dataCorrupted(let context): return "argument '\(path(context))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
