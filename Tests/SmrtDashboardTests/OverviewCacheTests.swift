import Testing

@testable import SmrtDashboard

@Suite struct OverviewCacheTests {
    /// A refresh may take at most a tenth of the time: a slow one stretches the pause after it.
    @Test func slowRefreshesStretchThePause() {
        let fast = OverviewCache.pause(after: .milliseconds(50), interval: .seconds(2), maxShare: 0.1)
        #expect(fast.required == .milliseconds(450))
        #expect(fast.total == .seconds(2))
        let slow = OverviewCache.pause(after: .seconds(3), interval: .seconds(2), maxShare: 0.1)
        #expect(slow.required == .seconds(27))
        #expect(slow.total == .seconds(27))
        // Refreshing share = took / (took + pause) ≤ 10 %.
        #expect(Double(3) / (3 + Double(slow.total.components.seconds)) <= 0.1 + 1e-9)
    }
}
