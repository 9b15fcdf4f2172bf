import Foundation
import Logging
import SmrtJobs
import Testing
@testable import SmrtSupervisor

@Suite struct SupervisorLogHandlerTests {
    let metadata: Logger.Metadata = [
        "event": "job_completed", "job_id": .int(42), "type": "Demo.noop", "duration_ms": .ms(2.5), "ok": .bool(true),
    ]

    @Test func jsonLineKeepsNumbersAndBooleans() throws {
        let line = SupervisorLogHandler.jsonLine(level: .info, message: "job 42 Demo.noop completed", metadata: metadata)
        #expect(line.hasSuffix("}\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "job 42 Demo.noop completed")
        #expect(object["level"] as? String == "info")
        #expect(object["event"] as? String == "job_completed")
        #expect(object["job_id"] as? Int == 42)
        #expect(object["duration_ms"] as? Double == 2.5)
        #expect(object["ok"] as? Bool == true)
        #expect(Timestamp.parse(object["ts"] as? String ?? "") != nil)
    }

    @Test func textLineIsSortedKeyValueWithoutTheEvent() {
        let line = SupervisorLogHandler.textLine(level: .info, message: "job 42 Demo.noop completed", metadata: metadata)
        #expect(line.hasSuffix(" info job 42 Demo.noop completed duration_ms=2.500 job_id=42 ok=true type=Demo.noop\n"))
        #expect(!line.contains("event="))
    }

    @Test func textValuesWithSpacesAreQuotedAndJSONStringsEscaped() {
        let line = SupervisorLogHandler.textLine(level: .error, message: "m", metadata: ["error": "worker 7 exited with code 3"])
        #expect(line.hasSuffix(#" error m error="worker 7 exited with code 3""# + "\n"))
        let json = SupervisorLogHandler.jsonLine(level: .info, message: "a \"quote\"\nnew\u{1}", metadata: [:])
        #expect(json.contains(#""msg":"a \"quote\"\nnew\u0001""#))
    }

    @Test func secretsAreRedactedAtAnyDepth() {
        let args: JSONValue = [
            "user": "ann", "password": "hunter2", "nested": ["api_key": "k", "Authorization": "Bearer x", "list": [["token": "t"]]],
            "secretName": "s",
        ]
        let redacted = ArgumentRedaction.redact(args)
        #expect(redacted["user"] == "ann")
        #expect(redacted["password"] == ArgumentRedaction.placeholder)
        #expect(redacted["secretName"] == ArgumentRedaction.placeholder)
        #expect(redacted["nested"]?["api_key"] == ArgumentRedaction.placeholder)
        #expect(redacted["nested"]?["Authorization"] == ArgumentRedaction.placeholder)
        #expect(redacted["nested"]?["list"] == [["token": ArgumentRedaction.placeholder]])
    }
}

@Suite struct OutputLineBufferTests {
    func feed(_ buffer: inout OutputLineBuffer, _ text: String) -> [String] {
        Array(text.utf8).withUnsafeBytes { buffer.append($0) }
    }

    @Test func splitsLinesAcrossChunks() {
        var buffer = OutputLineBuffer()
        #expect(feed(&buffer, "hel") == [])
        #expect(feed(&buffer, "lo\r\nwor") == ["hello"])
        #expect(feed(&buffer, "ld\n\n") == ["world", ""])
        #expect(buffer.flush() == nil)
        _ = feed(&buffer, "tail")
        #expect(buffer.flush() == "tail")
    }

    @Test func cutsOverlongLines() {
        var buffer = OutputLineBuffer(maxLineBytes: 4)
        #expect(feed(&buffer, "abcdefghij\n") == ["abcd", "efgh", "ij"])
    }
}

@Suite struct SupervisorConfigurationTests {
    func config(_ change: (inout SupervisorConfiguration) -> Void) -> SupervisorConfiguration {
        var configuration = SupervisorConfiguration(database: "db.sqlite", workerExec: ["worker"])
        change(&configuration)
        return configuration
    }

    @Test func defaults() throws {
        let c = config { _ in }
        try c.validate()
        #expect(c.workers == 2 && c.pollInterval == 1000 && c.heartbeatInterval == 5000 && c.leaseTTL == 30_000)
        #expect(c.shutdownTimeout == 30_000 && c.workerStartTimeout == 10_000 && c.cancelGrace == 2000)
        #expect(c.maxJobsPerWorker == nil && c.maxWorkerRSSMB == nil && c.queues == nil && c.logFormat == .text)
    }

    @Test func invalidValuesNameTheOption() {
        #expect(throws: SupervisorError.invalidConfiguration(option: "--workers", reason: "must be 0 or more")) {
            try config { $0.workers = -1 }.validate()
        }
        #expect(throws: SupervisorError.invalidConfiguration(option: "--worker-exec", reason: "must name a program")) {
            try config { $0.workerExec = [] }.validate()
        }
        #expect(throws: SupervisorError.self) { try config { $0.queues = [] }.validate() }
        #expect(throws: SupervisorError.self) { try config { $0.leaseTTL = 0 }.validate() }
        #expect(throws: SupervisorError.self) { try config { $0.maxJobsPerWorker = 0 }.validate() }
    }

    @Test func heartbeatNeverLetsOurOwnLeaseExpire() {
        #expect(config { $0.leaseTTL = 1000 }.effectiveHeartbeatInterval == 333)
        #expect(config { _ in }.effectiveHeartbeatInterval == 5000)
    }
}
