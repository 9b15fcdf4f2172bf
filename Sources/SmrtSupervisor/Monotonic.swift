/// Monotonic time helpers for the loop thread.
enum Monotonic {
    static var nanos: UInt64 { UVLoop.hrtimeNanos }

    /// Milliseconds between two `nanos` readings, with a fractional part.
    static func ms(from start: UInt64, to end: UInt64) -> Double {
        end >= start ? Double(end - start) / 1_000_000 : -Double(start - end) / 1_000_000
    }
}
