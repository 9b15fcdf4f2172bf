import Foundation
import SmrtJobs
import Testing

/// `--retain`: how long finished jobs are kept, per status.
@Suite struct RetentionPolicyTests {
    @Test func statusesNotNamedKeepTheirDefaults() throws {
        let policy = try RetentionPolicy(parsing: "completed=1h, failed=never")
        #expect(policy == RetentionPolicy(completedMs: 3_600_000, failedMs: nil, cancelledMs: 7 * 86_400_000))
        #expect("\(policy)" == "completed=1h,failed=never,cancelled=7d")
        #expect("\(RetentionPolicy.standard)" == "completed=7d,failed=30d,cancelled=7d")
    }

    @Test(arguments: [
        ("completed", "expected STATUS=DURATION"), ("done=1d", "unknown status 'done'"), ("completed=5x", "'5x'"),
        ("completed=1d,completed=2d", "given twice"), ("", "expected STATUS=DURATION"), ("failed=-1d", "'-1d'"),
    ])
    func badTextNamesThePart(text: String, fragment: String) {
        do {
            _ = try RetentionPolicy(parsing: text)
            Issue.record("'\(text)' was accepted")
        } catch {
            #expect("\(error)".contains(fragment), "\(error)")
        }
    }

    @Test func cutoffsAreNowMinusEachRetention() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let options = try #require(try RetentionPolicy(parsing: "completed=1s,failed=never,cancelled=2m").cleanupOptions(now: now, limit: 10))
        #expect(options.completedBefore == now.addingTimeInterval(-1))
        #expect(options.failedBefore == nil)
        #expect(options.cancelledBefore == now.addingTimeInterval(-120))
        #expect(options.limit == 10)
        #expect(RetentionPolicy.keepEverything.cleanupOptions(now: now, limit: 10) == nil)
    }
}
