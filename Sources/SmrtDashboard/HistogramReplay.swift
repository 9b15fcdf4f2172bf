import Foundation
import SmrtJobs

/// Turns what a supervisor's cumulative histogram (`HistogramSnapshot`) gained since the previous snapshot into
/// values to `record` in a swift-prometheus histogram with the same bounds, so that the exported bucket counts,
/// count and sum are the snapshot's.
///
/// A Prometheus client histogram can only record observations; a snapshot carries bucket counts and a sum,
/// not the observations. Each new observation of bucket `i` becomes one value inside `(bounds[i-1], bounds[i]]`
/// (the bucket's upper bound, moved down when the sum asks for less; the values above the last bound start just
/// above it and move up), chosen so that the values of the batch add up to the sum the snapshot gained. The
/// bucket counts are then exact, and the sum is exact up to floating-point rounding.
public struct HistogramReplay: Sendable, Equatable {
    /// The values to record, bucket by bucket.
    public var values: [Double]
    /// False when no values inside the buckets could add up to the sum gained (a snapshot that is not
    /// self-consistent): the counts are still exact, the sum is the closest reachable.
    public var sumIsExact: Bool

    /// The values for what `current` holds beyond `previous` (nil: everything in `current`).
    /// - Returns: nil when `current` is not a continuation of `previous` (other bounds, or a bucket that went
    ///   down: the supervisor's counters restarted); the caller starts the series over with `previous` nil.
    public static func delta(from previous: HistogramSnapshot?, to current: HistogramSnapshot) -> HistogramReplay? {
        guard current.counts.count == current.bounds.count + 1 else { return nil }
        var added = current.counts
        var sum = current.sum
        if let previous {
            guard previous.bounds == current.bounds, previous.counts.count == current.counts.count else { return nil }
            for i in added.indices {
                added[i] -= previous.counts[i]
                if added[i] < 0 { return nil }
            }
            sum -= previous.sum
        }
        return values(bounds: current.bounds, counts: added, sum: sum)
    }

    /// Values, `counts[i]` of them in bucket `i` (`counts.count == bounds.count + 1`, the last one above every
    /// bound), adding up to `sum`.
    public static func values(bounds: [Double], counts: [Int], sum: Double) -> HistogramReplay {
        precondition(counts.count == bounds.count + 1, "one count per bucket and one above the last bound")
        let total = counts.reduce(0, +)
        if total == 0 { return HistogramReplay(values: [], sumIsExact: sum == 0) }
        // Start every value at the top of its bucket (just above the last bound for the overflow bucket).
        var perValue: [Double] = counts.indices.map { i in i < bounds.count ? bounds[i] : (bounds.last ?? 0).nextUp }
        var reached = zip(perValue, counts).reduce(0) { $0 + $1.0 * Double($1.1) }
        // A sum gone non-finite (stored as "inf"/"nan") cannot be met: the counts still can.
        var remaining = sum.isFinite ? sum - reached : 0
        if remaining > 0 {
            // Only values above the last bound may grow.
            if let overflow = counts.last, overflow > 0 {
                perValue[perValue.count - 1] += remaining / Double(overflow)
                remaining = 0
            }
        } else if remaining < 0 {
            // Lower values towards the bottom of their buckets, the widest first; the first bucket (no bottom: its
            // values could go below zero) last.
            let order = counts.indices.filter { counts[$0] > 0 && $0 > 0 }.sorted { width(bounds, $0) > width(bounds, $1) }
                + (counts[0] > 0 ? [0] : [])
            for i in order where remaining < 0 {
                let room = width(bounds, i)
                let step = min(room, -remaining / Double(counts[i]))
                perValue[i] -= step
                remaining += step * Double(counts[i])
            }
        }
        reached = zip(perValue, counts).reduce(0) { $0 + $1.0 * Double($1.1) }
        var values: [Double] = []
        values.reserveCapacity(total)
        for i in counts.indices where counts[i] > 0 {
            values += repeatElement(perValue[i], count: counts[i])
        }
        let tolerance = max(1e-9, abs(sum) * 1e-12)
        return HistogramReplay(values: values, sumIsExact: sum.isFinite && abs(reached - sum) <= tolerance)
    }

    /// How far a value of bucket `i` may move down from the top and stay inside (unbounded for the first bucket).
    private static func width(_ bounds: [Double], _ i: Int) -> Double {
        if i == 0 { return .infinity }
        let bottom = bounds[i - 1].nextUp
        let top = i < bounds.count ? bounds[i] : bounds[i - 1].nextUp
        return max(0, top - bottom)
    }
}
