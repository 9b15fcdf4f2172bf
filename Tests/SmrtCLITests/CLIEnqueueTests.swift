import Foundation
import SmrtJobs
import Testing

@Suite("CLI enqueue")
struct CLIEnqueueTests {
    @Test func everyOptionIsApplied() throws {
        let sandbox = try Sandbox()
        let before = Date()
        let result = try sandbox.run(
            "enqueue", "Document", "generateSummary", "--object-id", "doc-123", "--args", #"{"format":"md","n":2}"#,
            "--queue", "analysis", "--priority", "high", "--delay", "5m", "--retries", "5", "--timeout", "600000",
            "--timeout-behavior", "kill")
        #expect(result.status == 0, "\(result)")
        let id = try #require(Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(result.stderr.isEmpty)
        let job = try #require(try sandbox.store().get(id: id))
        #expect(job.objectType == "Document")
        #expect(job.method == "generateSummary")
        #expect(job.objectId == "doc-123")
        #expect(job.args == ["format": "md", "n": 2])
        #expect(job.queue == "analysis")
        #expect(job.priority == 75)
        #expect(job.maxAttempts == 5)
        #expect(job.timeout == 600_000)
        #expect(job.timeoutBehavior == .kill)
        #expect(job.status == .pending)
        let delay = job.runAt.timeIntervalSince(before)
        #expect(delay >= 299 && delay <= 330, "runAt \(job.runAt) should be about 5 minutes after \(before)")
    }

    @Test func defaults() throws {
        let sandbox = try Sandbox()
        let before = Date().addingTimeInterval(-1)
        let id = try sandbox.enqueue("Mailer", "flush")
        let job = try #require(try sandbox.store().get(id: id))
        #expect(job.objectId == nil)
        #expect(job.args == [:])
        #expect(job.queue == "default")
        #expect(job.priority == 50)
        #expect(job.maxAttempts == 3)
        #expect(job.timeout == 300_000)
        #expect(job.timeoutBehavior == .fail)
        #expect(job.retryStrategy == .default)
        #expect(job.runAt >= before && job.runAt <= Date().addingTimeInterval(1))
        #expect(job.description == "Mailer.flush()")
    }

    @Test func runAtNumericPriorityAndUnitTimeout() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue(
            "Report", "build", "--run-at", "2030-01-02T03:04:05Z", "--priority", "-10", "--timeout", "30s",
            "--retries", "0", "--timeout-behavior", "WARN")
        let job = try #require(try sandbox.store().get(id: id))
        #expect(job.runAt == Timestamp.parse("2030-01-02T03:04:05.000Z"))
        #expect(job.priority == -10)
        #expect(job.timeout == 30_000)
        #expect(job.maxAttempts == 1, "--retries 0 runs once, kept as one attempt")
        #expect(job.timeoutBehavior == .warn)
        // An offset is accepted too.
        let other = try sandbox.enqueue("Report", "build", "--run-at", "2030-01-02T04:04:05+01:00")
        #expect(try sandbox.store().get(id: other)?.runAt == job.runAt)
    }

    @Test func idsAreSequential() throws {
        let sandbox = try Sandbox()
        let first = try sandbox.enqueue("A", "m")
        let second = try sandbox.enqueue("A", "m", "--priority", "critical")
        #expect(second == first + 1)
        #expect(try sandbox.store().get(id: second)?.priority == 100)
    }

    /// Bad values: exit 1, a message naming the problem, and no database file at all.
    @Test(arguments: [
        (["--delay", "5x"], ["invalid delay '5x'"]),
        (["--delay", "-3s"], ["invalid delay '-3s'"]),
        (["--priority", "urgent"],
         ["invalid priority 'urgent': expected critical, high, normal, low or an integer"]),
        (["--args", "{not-json"], ["invalid JSON in --args"]),
        (["--args", "[1,2]"], ["--args", "JSON object"]),
        (["--retries", "-3"], ["invalid retries '-3': must be between 0 and 25"]),
        (["--retries", "26"], ["invalid retries '26'"]),
        (["--timeout-behavior", "explode"], ["invalid timeoutBehavior 'explode': expected fail, kill or warn"]),
        (["--run-at", "yesterday"], ["invalid runAt 'yesterday'", "ISO-8601"]),
        (["--run-at", "2026-02-31T00:00:00Z"], ["invalid runAt '2026-02-31T00:00:00Z'"]),
        (["--timeout", "0"], ["invalid timeout '0'"]),
        (["--timeout", "-5"], ["invalid timeout '-5'"]),
        (["--queue", ""], ["invalid queue ''"]),
        (["--queue", "  "], ["invalid queue '  '"]),
        (["--object-id", ""], ["invalid objectId ''"]),
        (["--priority", "9223372036854775808"], ["invalid priority '9223372036854775808'"]),
        (["--delay", "99999999999999d"], ["invalid delay '99999999999999d'"]),
        (["--delay", "5m", "--run-at", "2030-01-01T00:00:00Z"], ["delay and runAt cannot both be given"]),
    ])
    func badValueWritesNothing(options: [String], fragments: [String]) throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["enqueue", "Document", "generate"] + options)
        expectFailure(result, mentioning: fragments)
        #expect(result.stdout.isEmpty)
        #expect(!sandbox.dbExists, "a validation failure must not create the database")
    }

    @Test func badValueAddsNoRowsToAnExistingDatabase() throws {
        let sandbox = try Sandbox()
        _ = try sandbox.enqueue("A", "m")
        expectFailure(try sandbox.run("enqueue", "A", "m", "--priority", "urgent"), mentioning: ["priority 'urgent'"])
        #expect(try sandbox.jobCount() == 1)
        let stats = try sandbox.run("stats", "--json")
        #expect(stats.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            == #"{"pending":1,"running":0,"completed":0,"failed":0,"cancelled":0}"#)
    }

    /// What ArgumentParser rejects is a usage error: exit 2.
    @Test(arguments: [
        ["enqueue"],
        ["enqueue", "OnlyType"],
        ["enqueue", "A", "m", "--retries", "abc"],
        ["enqueue", "A", "m", "--bogus"],
        ["enqueue", "A", "m", "--priority"],
        ["enqueue", "A", "m", "extra"],
        ["enqueue", "--batch", "x.jsonl", "A", "m"],
        ["enqueue", "--batch", "x.jsonl", "--queue", "q"],
    ])
    func usageErrorsExit2(args: [String]) throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(args)
        expectFailure(result, status: 2, mentioning: [])
        #expect(result.stderr.contains("Usage:"), "\(result)")
        #expect(!sandbox.dbExists)
    }
}

@Suite("CLI enqueue --batch")
struct CLIBatchTests {
    @Test func thousandLinesInOneGo() throws {
        let sandbox = try Sandbox()
        let lines = (1...1000).map { i in
            #"{"objectType":"Doc","method":"render","objectId":"d\#(i)","args":{"i":\#(i)},"priority":\#(i % 7 == 0 ? "\"high\"" : "10")}"#
        }
        let path = try sandbox.file("jobs.jsonl", lines.joined(separator: "\n") + "\n")
        let started = Date()
        let result = try sandbox.run("enqueue", "--batch", path)
        #expect(result.status == 0, "\(result)")
        let ids = result.lines.compactMap { Int64($0) }
        #expect(ids.count == 1000)
        #expect(ids == Array(ids[0]...(ids[0] + 999)), "ids are printed in file order")
        #expect(Date().timeIntervalSince(started) < 20)
        let store = try sandbox.store()
        #expect(try store.stats(queue: nil).pending == 1000)
        let job = try #require(try store.get(id: ids[6]))
        #expect(job.objectId == "d7")
        #expect(job.args == ["i": 7])
        #expect(job.priority == 75)
        #expect(try store.get(id: ids[0])?.priority == 10)
    }

    @Test func badLineRejectsTheWholeFile() throws {
        let sandbox = try Sandbox()
        _ = try sandbox.enqueue("Existing", "job")
        let path = try sandbox.file(
            "bad.jsonl",
            """
            {"objectType":"Doc","method":"render"}
            {"objectType":"Doc","method":"render","priority":"low"}
            {"objectType":"Doc","method":"render","priority":"urgent"}
            {"objectType":"Doc","method":"render"}

            """)
        let result = try sandbox.run("enqueue", "--batch", path)
        expectFailure(result, mentioning: ["line 3", "invalid priority 'urgent'", "nothing was enqueued"])
        #expect(result.stdout.isEmpty)
        #expect(try sandbox.jobCount() == 1, "no row of the file was written")
    }

    @Test func badFileCreatesNoDatabase() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.file("bad.jsonl", #"{"objectType":"Doc","method":"render","delay":"5x"}"#)
        expectFailure(try sandbox.run("enqueue", "--batch", path), mentioning: ["line 1", "invalid delay '5x'"])
        #expect(!sandbox.dbExists)
    }

    @Test(arguments: [
        (#"{"objectType":"A","method":"m","prio":1}"#, ["line 2", "unknown key 'prio'"]),
        (#"{"objectType":"A"}"#, ["line 2", "missing required key 'method'"]),
        (#"{"method":"m"}"#, ["line 2", "missing required key 'objectType'"]),
        (#"{"objectType":"A","method":"m","retries":-3}"#, ["line 2", "invalid retries '-3'"]),
        (#"{"objectType":"A","method":"m","retries":"x"}"#, ["line 2", "retries"]),
        (#"{"objectType":"A","method":"m","args":[1]}"#, ["line 2", "args"]),
        (#"{"objectType":"A","method":"m","timeoutBehavior":"explode"}"#, ["line 2", "timeoutBehavior 'explode'"]),
        (#"{"objectType":"A","method":"m","runAt":"yesterday"}"#, ["line 2", "runAt 'yesterday'"]),
        (#"{"objectType":"A","method":"m","delay":-5}"#, ["line 2", "delay"]),
        (#"{"objectType":"A","method":"m","priority":1.5}"#, ["line 2", "priority"]),
        (#"{"objectType":"A","method":"m""#, ["line 2", "invalid JSON"]),
        (#"[1,2]"#, ["line 2", "JSON object"]),
    ])
    func lineErrorsNameLineAndProblem(line: String, fragments: [String]) throws {
        let sandbox = try Sandbox()
        let text = #"{"objectType":"A","method":"m"}"# + "\n" + line + "\n"
        let result = try sandbox.run(["enqueue", "--batch", "-"], stdin: text)
        expectFailure(result, mentioning: fragments)
        #expect(try sandbox.jobCount() == 0)
    }

    @Test func stdinBlankLinesAndAllKeys() throws {
        let sandbox = try Sandbox()
        let text = """

            {"objectType":"A","method":"m","objectId":42,"args":{"x":[1,2]},"queue":"q","priority":"critical","delay":60000,"retries":1,"timeout":"30s","timeoutBehavior":"warn"}
              \r
            {"objectType":"B","method":"n","runAt":"2030-01-01T00:00:00Z","delay":null,"priority":5}\r

            """
        let before = Date()
        let result = try sandbox.run(["enqueue", "--batch", "-"], stdin: text)
        #expect(result.status == 0, "\(result)")
        let ids = result.lines.compactMap { Int64($0) }
        #expect(ids.count == 2)
        let store = try sandbox.store()
        let a = try #require(try store.get(id: ids[0]))
        #expect(a.objectId == "42")
        #expect(a.args == ["x": [1, 2]])
        #expect(a.queue == "q")
        #expect(a.priority == 100)
        #expect(a.maxAttempts == 1)
        #expect(a.timeout == 30_000)
        #expect(a.timeoutBehavior == .warn)
        #expect(abs(a.runAt.timeIntervalSince(before) - 60) < 10)
        let b = try #require(try store.get(id: ids[1]))
        #expect(b.runAt == Timestamp.parse("2030-01-01T00:00:00Z"))
        #expect(b.priority == 5)
    }

    @Test func emptyFileEnqueuesNothing() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["enqueue", "--batch", "-"], stdin: "\n\n")
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(!sandbox.dbExists)
    }

    @Test func missingFile() throws {
        let sandbox = try Sandbox()
        expectFailure(
            try sandbox.run("enqueue", "--batch", sandbox.directory.appendingPathComponent("nope.jsonl").path),
            mentioning: ["cannot read batch file", "nope.jsonl"])
        #expect(!sandbox.dbExists)
    }
}
