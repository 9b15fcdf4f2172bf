import SmrtJobs
import Testing

@testable import SmrtDashboard

@Suite struct HistogramReplayTests {
    /// Records `values` in a snapshot with `bounds`, as a supervisor would.
    func snapshot(_ bounds: [Double], _ values: [Double]) -> HistogramSnapshot {
        var histogram = HistogramSnapshot(bounds: bounds)
        for value in values { histogram.record(value) }
        return histogram
    }

    /// The replayed values recorded again: the same counts, and the same sum up to rounding.
    func expectSame(_ replay: HistogramReplay, _ expected: HistogramSnapshot, bounds: [Double]) {
        let again = snapshot(bounds, replay.values)
        #expect(again.counts == expected.counts)
        #expect(abs(again.sum - expected.sum) <= 1e-9 * max(1, abs(expected.sum)), "sum \(again.sum) vs \(expected.sum)")
        #expect(replay.sumIsExact)
    }

    @Test func replaysCountsAndSumExactly() throws {
        let bounds = HistogramSnapshot.durationBounds
        let observed = snapshot(bounds, [0.001, 0.003, 0.02, 0.02, 0.3, 1.7, 4, 4, 9.5, 120, 7200, 0.0049])
        let replay = try #require(HistogramReplay.delta(from: nil, to: observed))
        #expect(replay.values.count == 12)
        expectSame(replay, observed, bounds: bounds)
    }

    @Test func sumBelowTheBucketTopsMovesValuesDown() throws {
        let bounds: [Double] = [1, 2, 5]
        // Three values just above the lower bounds: far below the tops (1 + 2 + 5 = 8).
        let observed = snapshot(bounds, [0.1, 1.01, 2.01])
        let replay = try #require(HistogramReplay.delta(from: nil, to: observed))
        expectSame(replay, observed, bounds: bounds)
    }

    @Test func valuesAboveTheLastBoundCarryTheRest() throws {
        let bounds: [Double] = [1, 2]
        let observed = snapshot(bounds, [0.5, 1000, 3000])
        let replay = try #require(HistogramReplay.delta(from: nil, to: observed))
        expectSame(replay, observed, bounds: bounds)
        #expect(replay.values.filter { $0 > 2 }.count == 2)
    }

    @Test func deltaReplaysOnlyWhatIsNew() throws {
        let bounds = HistogramSnapshot.latenessBounds
        let before = snapshot(bounds, [0.001, 0.003, 0.7])
        let after = snapshot(bounds, [0.001, 0.003, 0.7, 0.02, 0.02, 3])
        let replay = try #require(HistogramReplay.delta(from: before, to: after))
        #expect(replay.values.count == 3)
        let added = snapshot(bounds, [0.02, 0.02, 3])
        expectSame(replay, added, bounds: bounds)
    }

    @Test func countersThatWentBackOrOtherBoundsStartOver() {
        let bounds: [Double] = [1, 2]
        let before = snapshot(bounds, [0.5, 1.5, 1.5])
        let restarted = snapshot(bounds, [0.5])
        #expect(HistogramReplay.delta(from: before, to: restarted) == nil)
        #expect(HistogramReplay.delta(from: before, to: snapshot([1, 3], [0.5, 1.5, 1.5, 2])) == nil)
    }

    @Test func anInconsistentSumIsReportedNotHidden() {
        // Two values in (1, 2] cannot add up to 10 (and nothing is above the last bound to carry it).
        let replay = HistogramReplay.values(bounds: [1, 2], counts: [0, 2, 0], sum: 10)
        #expect(replay.values.count == 2)
        #expect(replay.values.allSatisfy { $0 > 1 && $0 <= 2 })
        #expect(!replay.sumIsExact)
    }

    @Test func nothingNewIsNothingToRecord() throws {
        let bounds: [Double] = [1]
        let same = snapshot(bounds, [0.5, 3])
        let replay = try #require(HistogramReplay.delta(from: same, to: same))
        #expect(replay.values.isEmpty)
        #expect(replay.sumIsExact)
    }

    @Test func aNonFiniteSumKeepsTheCounts() {
        let replay = HistogramReplay.values(bounds: [1, 2], counts: [1, 0, 2], sum: .infinity)
        #expect(replay.values.count == 3)
        #expect(replay.values.allSatisfy { $0.isFinite })
        #expect(!replay.sumIsExact)
    }
}
