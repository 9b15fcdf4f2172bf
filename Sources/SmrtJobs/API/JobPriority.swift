/// A priority in any form the builder takes, for `bg(priority:)`: a name (`"high"`, `.high`) or a number
/// (`60`, `"60"`). Higher runs sooner. Text is checked when the job is enqueued.
public struct JobPriority: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    enum Form: Sendable, Equatable {
        case value(Int)
        case text(String)
    }

    let form: Form

    public init(_ priority: Priority) { form = .value(priority.rawValue) }
    public init(_ value: Int) { form = .value(value) }
    /// critical, high, normal, low (any case) or an integer as text.
    public init(_ text: String) { form = .text(text) }
    public init(integerLiteral value: Int) { self.init(value) }
    public init(stringLiteral text: String) { self.init(text) }

    public static let critical = JobPriority(Priority.critical)
    public static let high = JobPriority(Priority.high)
    public static let normal = JobPriority(Priority.normal)
    public static let low = JobPriority(Priority.low)

    /// The number.
    ///
    /// - Throws: `SmrtJobsError.invalidValue` for an unknown name.
    public func value() throws -> Int {
        switch form {
        case .value(let value): return value
        case .text(let text): return try Priority.parse(text)
        }
    }
}
