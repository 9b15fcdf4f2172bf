import Logging

extension Logger.MetadataValue {
    /// An integer that stays a number in JSON log lines.
    static func int<T: BinaryInteger>(_ value: T) -> Logger.MetadataValue { .stringConvertible(Int64(value)) }
    /// Milliseconds with a fractional part (3 decimals in JSON log lines).
    static func ms(_ value: Double) -> Logger.MetadataValue { .stringConvertible(value) }
    static func bool(_ value: Bool) -> Logger.MetadataValue { .stringConvertible(value) }
}
