/// One parsed field of a cron expression: the set of values it allows, as a bit set, and whether its
/// text began with `*`.
///
/// The leading-`*` flag is kept apart from the values because Vixie cron decides two things on the
/// field's first character rather than on the values it expands to: the day-of-month/day-of-week OR
/// rule, and whether a job counts as a "wildcard" job for daylight-saving handling.
struct CronField: Sendable, Equatable {
    /// Which field of the five this is; carries its name for error messages and its value range.
    enum Kind: Int, Sendable, CaseIterable {
        case minute, hour, dayOfMonth, month, dayOfWeek

        /// The name used in error messages.
        var name: String {
            switch self {
            case .minute: return "minute"
            case .hour: return "hour"
            case .dayOfMonth: return "day-of-month"
            case .month: return "month"
            case .dayOfWeek: return "day-of-week"
            }
        }

        /// Allowed values as written. Day-of-week accepts 7 as a second spelling of Sunday.
        var range: ClosedRange<Int> {
            switch self {
            case .minute: return 0...59
            case .hour: return 0...23
            case .dayOfMonth: return 1...31
            case .month: return 1...12
            case .dayOfWeek: return 0...7
            }
        }

        /// Three-letter names accepted in place of numbers, lowercased, indexed from the first value.
        var names: [String] {
            switch self {
            case .month: return ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: return ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: return []
            }
        }
    }

    /// Bit `v` is set when value `v` is allowed. Day-of-week 7 is stored as 0.
    let bits: UInt64
    /// The field's text began with `*` (`*`, `*/5`, `*,3`).
    let startsWithStar: Bool

    func contains(_ value: Int) -> Bool {
        value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0
    }

    /// The smallest allowed value that is at least `value`, if any.
    func next(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let masked = bits & ~((UInt64(1) << UInt64(max(value, 0))) - 1)
        return masked == 0 ? nil : masked.trailingZeroBitCount
    }
}
