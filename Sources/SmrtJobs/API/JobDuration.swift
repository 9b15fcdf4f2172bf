import Foundation

/// A delay or a timeout in any form the builder takes, for `bg(delay:timeout:)`: a number of milliseconds
/// (`300_000`), text (`"5m"`, `"30s"`, `"500ms"`), or a `Duration` (`.seconds(30)`, `JobDuration(duration)`).
/// Text is checked when the job is enqueued.
public struct JobDuration: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    enum Form: Sendable, Equatable {
        case milliseconds(Int)
        case text(String)
        case duration(Duration)
    }

    let form: Form

    public init(milliseconds: Int) { form = .milliseconds(milliseconds) }
    /// `"500"` or `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"` (see `DelayParser`).
    public init(_ text: String) { form = .text(text) }
    public init(_ duration: Duration) { form = .duration(duration) }
    public init(integerLiteral milliseconds: Int) { self.init(milliseconds: milliseconds) }
    public init(stringLiteral text: String) { self.init(text) }

    public static func milliseconds<T: BinaryInteger>(_ value: T) -> JobDuration { JobDuration(.milliseconds(value)) }
    public static func seconds<T: BinaryInteger>(_ value: T) -> JobDuration { JobDuration(.seconds(value)) }
    public static func seconds(_ value: Double) -> JobDuration { JobDuration(.seconds(value)) }
    public static func minutes<T: BinaryInteger>(_ value: T) -> JobDuration { JobDuration(.seconds(value * 60)) }
    public static func hours<T: BinaryInteger>(_ value: T) -> JobDuration { JobDuration(.seconds(value * 3600)) }

    /// Milliseconds (a `Duration` rounded down).
    ///
    /// - Throws: `SmrtJobsError.invalidValue` naming `field` for unreadable text or a negative value.
    public func toMilliseconds(field: String) throws -> Int {
        switch form {
        case .milliseconds(let ms):
            guard ms >= 0 else {
                throw SmrtJobsError.invalidValue(field: field, value: String(ms), reason: "must be zero or positive")
            }
            return ms
        case .text(let text): return try DelayParser.milliseconds(text, field: field)
        case .duration(let duration): return try DelayParser.milliseconds(duration, field: field)
        }
    }
}
