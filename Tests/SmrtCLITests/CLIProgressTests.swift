import Foundation
import SmrtJobs
import Testing

/// `show` and `--json` with what the operator surface added to a job: its progress, the worker pid and how its
/// last attempt ended, its unique key.
@Suite("CLI progress, worker pid and exit")
struct CLIProgressTests {
    /// `key: value` lines as a dictionary (the first of a key).
    static func pairs(_ result: CLIResult) -> [String: String] {
        Dictionary(
            result.lines.map { line -> (String, String) in
                let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
            }, uniquingKeysWith: { first, _ in first })
    }

    @Test func showPrintsProgressAndTheWorkerOfTheLastAttempt() throws {
        let sandbox = try Sandbox()
        let running = try sandbox.enqueue("Report", "build", "--unique-key", "report-2026-11")
        let ended = try sandbox.enqueue("Mailer", "send")
        let store = try sandbox.store()
        _ = try store.claim(workerId: "sup-1", limit: 2, queues: nil, now: Date())
        let reportedAt = Date().addingTimeInterval(-3)
        try store.recordProgress(
            [
                ProgressUpdate(jobId: running, progress: JobProgress(fraction: 0.42, message: "page 21 of 50", updatedAt: reportedAt)),
                ProgressUpdate(jobId: ended, progress: JobProgress(fraction: 1, message: "token=hunter2 sent", updatedAt: reportedAt)),
            ], workerId: "sup-1")
        _ = try store.finish(
            [AttemptReport(jobId: ended, outcome: .failed(error: "crash", retryAt: nil), workerPid: 4242, workerExit: "killed by signal 11")],
            workerId: "sup-1", now: Date())

        let shown = try sandbox.run("show", String(running))
        #expect(shown.status == 0, "\(shown)")
        let lines = Self.pairs(shown)
        let progress = try #require(lines["progress"])
        // 3 s ago, give or take the time the command took to start.
        #expect(progress.hasPrefix("42% page 21 of 50 ("), "\(progress)")
        #expect(progress.hasSuffix(" s ago)"), "\(progress)")
        let seconds = Int(progress.dropFirst("42% page 21 of 50 (".count).prefix { $0.isNumber }) ?? -1
        #expect((3...60).contains(seconds), "\(progress)")
        #expect(lines["workerPid"] == "-" && lines["workerExit"] == "-", "no attempt has ended yet")
        #expect(lines["uniqueKey"] == "report-2026-11")

        let endedLines = Self.pairs(try sandbox.run("show", String(ended)))
        #expect(endedLines["workerPid"] == "4242")
        #expect(endedLines["workerExit"] == "killed by signal 11")
        #expect(endedLines["uniqueKey"] == nil, "no line without a key")
        #expect(endedLines["progress"]?.hasPrefix("100% token=[REDACTED] sent (") == true, "\(endedLines)")
        let revealed = Self.pairs(try sandbox.run("show", String(ended), "--reveal"))
        #expect(revealed["progress"]?.hasPrefix("100% token=hunter2 sent (") == true, "\(revealed)")

        let json = try #require(try parseJSON(try sandbox.run("show", String(ended), "--json").stdout) as? [String: Any])
        #expect((json["workerPid"] as? NSNumber)?.intValue == 4242)
        #expect(json["workerExit"] as? String == "killed by signal 11")
        let jsonProgress = try #require(json["progress"] as? [String: Any])
        #expect((jsonProgress["fraction"] as? NSNumber)?.doubleValue == 1)
        #expect(jsonProgress["message"] as? String == "token=[REDACTED] sent")
        #expect(isStoredTimestamp(jsonProgress["updatedAt"]))

        let listed = try #require(try parseJSON(try sandbox.run("list", "--json").stdout) as? [[String: Any]])
        let first = try #require(listed.first { ($0["id"] as? NSNumber)?.int64Value == running })
        #expect(((first["progress"] as? [String: Any])?["fraction"] as? NSNumber)?.doubleValue == 0.42)
        #expect(first["workerPid"] is NSNull && first["workerExit"] is NSNull)
        #expect(first["uniqueKey"] as? String == "report-2026-11")
    }

    @Test func aJobWithoutProgressShowsADash() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("Report", "build")
        let lines = Self.pairs(try sandbox.run("show", String(id)))
        #expect(lines["progress"] == "-")
        let json = try #require(try parseJSON(try sandbox.run("show", String(id), "--json").stdout) as? [String: Any])
        #expect(json["progress"] is NSNull)
    }

    /// Minutes, hours and days (seconds: the first test); a report from a clock ahead of this one is 0 s old.
    @Test(arguments: [(120.0, "2 min"), (7200, "2 h"), (172_800, "2 d"), (-5, "0 s")])
    func olderProgressIsShownInLargerUnits(seconds: Double, text: String) throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("Report", "build")
        let store = try sandbox.store()
        _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: Date())
        // Half a second older: the unit stays the same while the command starts.
        let updatedAt = Date().addingTimeInterval(-seconds - (seconds > 0 ? 0.5 : 0))
        try store.recordProgress([ProgressUpdate(jobId: id, progress: JobProgress(fraction: 0.5, updatedAt: updatedAt))], workerId: "w")
        #expect(Self.pairs(try sandbox.run("show", String(id)))["progress"] == "50% (\(text) ago)")
    }
}
