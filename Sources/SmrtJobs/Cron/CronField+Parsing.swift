extension CronField {
    /// Parses one field: a comma-separated list whose items are `*`, `n`, `a-b`, `*/s`, `a-b/s` or `a/s`
    /// (`a` to the field's maximum, step `s`). Month and day-of-week also take three-letter names.
    ///
    /// - Throws: `SmrtJobsError.invalidCron` naming this field and the offending value.
    init(parsing text: String, kind: Kind, expression: String) throws {
        func fail(_ reason: String) -> SmrtJobsError {
            .invalidCron(expression: expression, field: kind.name, reason: reason)
        }
        let range = kind.range
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else { throw fail("has an empty list item in '\(text)'") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2 else { throw fail("'\(item)' has more than one step") }
            var step = 1
            if parts.count == 2 {
                let stepText = parts[1]
                guard !stepText.isEmpty, stepText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw fail("step '\(stepText)' in '\(item)' is not a number")
                }
                // Digits that overflow Int are still "a step"; any huge step simply selects the start.
                step = Int(stepText) ?? Int.max
                guard step >= 1 else { throw fail("step \(stepText) in '\(item)' must be at least 1") }
            }
            let base = parts[0]
            let low: Int
            let high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if base.isEmpty {
                throw fail("'\(item)' has a step but nothing to step through")
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard bounds.count <= 2, !bounds.contains(where: \.isEmpty) else {
                    throw fail("'\(base)' is not a valid value or range")
                }
                low = try Self.value(bounds[0], kind: kind, fail: fail)
                if bounds.count == 2 {
                    high = try Self.value(bounds[1], kind: kind, fail: fail)
                    guard low <= high else { throw fail("range \(base) is reversed (\(low) > \(high))") }
                } else {
                    // `a/s` runs from a to the maximum, as in Vixie cron and croniter; a bare `a` is one value.
                    high = parts.count == 2 ? range.upperBound : low
                }
            }
            var v = low
            while v <= high {
                bits |= 1 << UInt64(kind == .dayOfWeek && v == 7 ? 0 : v)
                let (sum, overflow) = v.addingReportingOverflow(step)
                if overflow { break }
                v = sum
            }
        }
        self.init(bits: bits, startsWithStar: text.hasPrefix("*"))
    }

    /// One number or name, checked against the field's range.
    private static func value(_ token: String, kind: Kind, fail: (String) -> SmrtJobsError) throws -> Int {
        let range = kind.range
        if token.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let number = Int(token), range.contains(number) else {
                throw fail("\(token) out of range \(range.lowerBound)-\(range.upperBound)")
            }
            return number
        }
        if let index = kind.names.firstIndex(of: token.lowercased()) {
            return range.lowerBound + index
        }
        switch kind {
        case .month: throw fail("'\(token)' is not a number or month name (JAN-DEC)")
        case .dayOfWeek: throw fail("'\(token)' is not a number or day name (SUN-SAT)")
        default: throw fail("'\(token)' is not a number")
        }
    }
}
