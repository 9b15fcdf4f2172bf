import Foundation

/// How stores keep a job's progress: one JSON column, `{"fraction":0.42,"message":"page 21 of 50",
/// "updatedAt":"2026-11-29T06:54:30.123Z"}` (message left out when nil; `updatedAt` is `Timestamp` text).
extension JobProgress {
    /// The stored form.
    public var storedJSON: JSONValue {
        var members: [String: JSONValue] = [
            "fraction": .double(fraction), "updatedAt": .string(Timestamp.format(updatedAt)),
        ]
        if let message { members["message"] = .string(message) }
        return .object(members)
    }

    /// Reads the stored form; nil when `value` is not one (a fraction outside 0…1, a date that does not parse).
    public init?(storedJSON value: JSONValue) {
        guard let fraction = value["fraction"]?.doubleValue, fraction.isFinite, (0...1).contains(fraction),
            let updatedAt = value["updatedAt"]?.stringValue.flatMap(Timestamp.parse)
        else { return nil }
        var message: String?
        switch value["message"] {
        case nil, .null?: message = nil
        case .string(let text)?: message = text
        default: return nil
        }
        self.init(fraction: fraction, message: message, updatedAt: updatedAt)
    }
}
