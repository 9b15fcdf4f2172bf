import Foundation
import SmrtJobs
import Testing
@testable import SmrtSupervisor

/// When the supervisor writes progress: the first report at once, then at most once a second per job, the latest
/// value winning, and what waits when the attempt ends with its result. No processes, clocks or database.
@Suite struct ProgressBufferTests {
    static let second = ProgressBuffer.interval
    static let t0: UInt64 = 1_000_000_000_000

    func value(_ fraction: Double, _ message: String? = nil) -> JobProgress {
        JobProgress(fraction: fraction, message: message, updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func fractions(_ updates: [ProgressUpdate]) -> [Int64: Double] {
        Dictionary(uniqueKeysWithValues: updates.map { ($0.jobId, $0.progress.fraction) })
    }

    @Test func theFirstReportIsDueAtOnce() {
        var buffer = ProgressBuffer()
        #expect(buffer.nextDue == nil && !buffer.hasWaiting)
        buffer.report(jobId: 1, value(0.1, "first"))
        #expect(buffer.nextDue == 0)
        let due = buffer.takeDue(now: Self.t0)
        #expect(due == [ProgressUpdate(jobId: 1, progress: value(0.1, "first"))])
        #expect(buffer.takeDue(now: Self.t0).isEmpty, "taken")
        #expect(buffer.nextDue == nil)
    }

    @Test func laterReportsWaitASecondAndTheLatestWins() {
        var buffer = ProgressBuffer()
        buffer.report(jobId: 1, value(0.1))
        _ = buffer.takeDue(now: Self.t0)
        for step in 2...9 { buffer.report(jobId: 1, value(Double(step) / 10)) }
        #expect(buffer.takeDue(now: Self.t0 + Self.second / 2).isEmpty, "half a second after the last write")
        #expect(buffer.nextDue == Self.t0 + Self.second)
        #expect(buffer.takeDue(now: Self.t0 + Self.second - 1).isEmpty)
        #expect(fractions(buffer.takeDue(now: Self.t0 + Self.second)) == [1: 0.9], "one write, the latest value")
        #expect(buffer.nextDue == nil)
        // The next one waits a second from that write, not from the first.
        buffer.report(jobId: 1, value(1))
        #expect(buffer.nextDue == Self.t0 + 2 * Self.second)
    }

    @Test func manyReportsCostOneWriteASecond() {
        var buffer = ProgressBuffer()
        var writes = 0
        // 200 reports in 2 s (every 10 ms), the buffer asked at every report, as each loop iteration does.
        for i in 0..<200 {
            let now = Self.t0 + UInt64(i) * Self.second / 100
            buffer.report(jobId: 7, value(Double(i + 1) / 200))
            writes += buffer.takeDue(now: now).count
        }
        #expect(writes == 2, "at 0 s and at 1 s")
        buffer.attemptEnded(jobId: 7)
        let last = buffer.takeDue(now: Self.t0 + 2 * Self.second - 1)
        #expect(fractions(last) == [7: 1], "the value waiting at the end goes with the result")
        #expect(buffer.trackedJobs == 0 && !buffer.hasWaiting)
    }

    @Test func jobsAreThrottledApart() {
        var buffer = ProgressBuffer()
        buffer.report(jobId: 1, value(0.1))
        _ = buffer.takeDue(now: Self.t0)
        buffer.report(jobId: 1, value(0.2))
        buffer.report(jobId: 2, value(0.5))
        #expect(fractions(buffer.takeDue(now: Self.t0 + 10)) == [2: 0.5], "job 2's first report is not held by job 1's")
        #expect(buffer.nextDue == Self.t0 + Self.second)
        #expect(fractions(buffer.takeDue(now: Self.t0 + Self.second)) == [1: 0.2])
    }

    @Test func anEndedAttemptWritesWhatWaitsWhateverTheTime() {
        var buffer = ProgressBuffer()
        buffer.report(jobId: 3, value(0.3))
        _ = buffer.takeDue(now: Self.t0)
        buffer.report(jobId: 3, value(0.6))
        buffer.attemptEnded(jobId: 3)
        #expect(buffer.nextDue == 0)
        #expect(fractions(buffer.takeDue(now: Self.t0 + 1)) == [3: 0.6])
        #expect(buffer.trackedJobs == 0)
    }

    @Test func anEndedAttemptWithNothingWaitingWritesNothing() {
        var buffer = ProgressBuffer()
        buffer.report(jobId: 3, value(0.3))
        _ = buffer.takeDue(now: Self.t0)
        buffer.attemptEnded(jobId: 3)
        buffer.attemptEnded(jobId: 99)
        #expect(buffer.takeDue(now: Self.t0 + 1).isEmpty)
        #expect(buffer.trackedJobs == 0 && buffer.nextDue == nil)
    }

    @Test func aReleasedAttemptDropsWhatWaits() {
        var buffer = ProgressBuffer()
        buffer.report(jobId: 4, value(0.4))
        buffer.discard(jobId: 4)
        #expect(buffer.takeDue(now: Self.t0).isEmpty)
        #expect(!buffer.hasWaiting && buffer.trackedJobs == 0)
    }
}
