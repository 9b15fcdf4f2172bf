import Foundation
import SmrtJobs
import SmrtJobsConformance
import Testing

/// The dashboard in a real browser: headless Chromium driven by Selenium (Tests/python/browser_retry.py) against
/// the built `smrt-dashboard` beside a real `smrt-supervisor`.
@Suite(.enabled(if: ExternalTools.browserMissing.isEmpty || ExternalTools.isCI, ExternalTools.skipReason(ExternalTools.browserMissing)))
struct BrowserTests {
    /// A job fails for good under the supervisor; the supervisor stops (so a retried job stays pending); in the
    /// browser: the overview, the failed count of its queue, the jobs list filtered by failed, the job, Retry, and
    /// the job page shows it pending. The database agrees.
    @Test func retryAFailedJobFromTheOverview() async throws {
        try ExternalTools.require(ExternalTools.browserMissing)
        try await BlockingWork.run {
            let cluster = try LiveCluster()
            try cluster.startSupervisor()
            try cluster.startDashboard()
            let completed = try cluster.enqueue("echo", ["hello": "browser"])
            let failed = try cluster.enqueue("fail", ["message": "invoice 42 has no customer"], maxAttempts: 1)
            try cluster.waitFor(completed, .completed)
            let before = try cluster.waitFor(failed, .failed)
            #expect(before.attempts == 1)
            try cluster.stopSupervisor()

            let profile = cluster.directory.path("chromium-profile")
            try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
            let run = try cluster.python(
                "browser_retry.py",
                ["--url", cluster.url, "--job-id", String(failed), "--queue", "default",
                 "--chromium", try #require(ExternalTools.chromium), "--chromedriver", try #require(ExternalTools.chromedriver),
                 "--profile", profile, "--screenshot-dir", cluster.directory.path("")],
                name: "browser", timeout: 180)
            #expect(run.exit == .exited(0), "browser_retry.py \(run.exit)\n\(run.stdout)\n\(run.stderr)\n\(cluster.context(failed))")
            #expect(run.stdout.contains("job \(failed): failed -> Retry -> pending"), "\(run.stdout)")

            let after = try #require(try cluster.store.get(id: failed))
            #expect(after.status == .pending, "\(cluster.context(failed))")
            #expect(try cluster.store.get(id: completed)?.status == .completed)
            #expect(cluster.dashboard?.isRunning == true, "\(cluster.context())")
        }
    }
}
