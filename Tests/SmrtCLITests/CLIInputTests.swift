import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

/// Input the CLI must refuse clearly or read correctly: oversize args, impossible offsets and crons, retries 0,
/// batches from stdin and FIFOs, and the messages for deep JSON, lone surrogates and huge delays.
@Suite("CLI input")
struct CLIInputTests {
    /// A JSON Lines batch whose second line carries `bytes` of args JSON.
    static func batch(bigArgsBytes bytes: Int) -> String {
        let big = String(repeating: "x", count: bytes - 8)
        return #"{"objectType":"A","method":"m"}"# + "\n" + #"{"objectType":"A","method":"m","args":{"a":""# + big + "\"}}\n"
    }

    @Test func oversizeArgsInABatchFileWriteNothing() throws {
        let sandbox = try Sandbox()
        let limit = JobSpec.maxArgsBytes(objectType: "A", method: "m", objectId: nil)
        let file = try sandbox.file("big.jsonl", Self.batch(bigArgsBytes: 5 << 20))
        let result = try sandbox.run("enqueue", "--batch", file)
        expectFailure(
            result,
            mentioning: ["\(file): line 2: args too large: \(5 << 20) bytes of JSON exceed the limit of \(limit) bytes",
                         "worker protocol's 4194304-byte frame", "(nothing was enqueued)"])
        #expect(!sandbox.dbExists)
        // On stdin too, and with a database that exists: still nothing.
        _ = try sandbox.enqueue("A", "m")
        expectFailure(try sandbox.run(["enqueue", "--batch", "-"], stdin: Self.batch(bigArgsBytes: limit + 1)),
                      mentioning: ["stdin: line 2: args too large: \(limit + 1) bytes"])
        #expect(try sandbox.jobCount() == 1)
        // Exactly the limit is fine.
        #expect(try sandbox.run(["enqueue", "--batch", "-"], stdin: Self.batch(bigArgsBytes: limit)).lines == ["2", "3"])
    }

    @Test func oversizeArgsOnTheCommandLine() throws {
        // One argument can hold at most 128 KiB on Linux (MAX_ARG_STRLEN), far below the limit: the single-job
        // path shares the batch's validation (JobSpec(jsonObject:)), checked here with the largest argument
        // the kernel passes.
        let sandbox = try Sandbox()
        let args = #"{"a":""# + String(repeating: "x", count: 120_000) + "\"}"
        #expect(try sandbox.run("enqueue", "A", "m", "--args", args).status == 0)
        #expect(try sandbox.store().get(id: 1)?.args["a"]?.stringValue?.count == 120_000)
    }

    @Test func batchFromStdinAFIFOAndDevStdin() throws {
        let sandbox = try Sandbox()
        let lines = #"{"objectType":"A","method":"m"}"# + "\n" + #"{"objectType":"B","method":"m"}"# + "\n"
        #expect(try sandbox.run(["enqueue", "--batch", "-"], stdin: lines).lines == ["1", "2"])
        #expect(try sandbox.run(["enqueue", "--batch", "/dev/stdin"], stdin: lines).lines == ["3", "4"])

        let fifo = sandbox.directory.appendingPathComponent("jobs.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let running = try CLI.start(["enqueue", "--batch", fifo, "--db", sandbox.dbPath])
        // Opening for writing waits for the reader (the command) to open it: no sleep needed.
        let writer = open(fifo, O_WRONLY | O_CLOEXEC)
        #expect(writer >= 0)
        let bytes = Array(lines.utf8)
        #expect(write(writer, bytes, bytes.count) == bytes.count)
        close(writer)
        let result = try running.finish()
        #expect(result.status == 0, "\(result)")
        #expect(result.lines == ["5", "6"])
        #expect(try sandbox.jobCount() == 6)
    }

    @Test func unreadableBatchSourcesSayWhy() throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run("enqueue", "--batch", sandbox.directory.path),
                      mentioning: ["cannot read batch file '\(sandbox.directory.path)': Is a directory"])
        expectFailure(try sandbox.run("enqueue", "--batch", "/nonexistent/x.jsonl"),
                      mentioning: ["cannot read batch file '/nonexistent/x.jsonl': No such file or directory"])
        #expect(!sandbox.dbExists)
    }

    @Test(arguments: ["+99:00", "+24:00", "+00:99"])
    func impossibleOffsetsAreRefused(offset: String) throws {
        let sandbox = try Sandbox()
        let time = "2026-11-29T10:05:00\(offset)"
        expectFailure(try sandbox.run("enqueue", "A", "m", "--run-at", time),
                      mentioning: ["invalid runAt '\(time)': UTC offset \(offset) is out of range"])
        let file = try sandbox.file("b.jsonl", #"{"objectType":"A","method":"m","runAt":"\#(time)"}"# + "\n")
        expectFailure(try sandbox.run("enqueue", "--batch", file), mentioning: ["line 1: invalid runAt '\(time)'"])
        #expect(!sandbox.dbExists)
    }

    @Test func neverFiringCronIsRefusedAtAddAsByCronNext() throws {
        let sandbox = try Sandbox()
        let next = try CLI.run(["cron", "next", "0 0 31 2 *"])
        let add = try sandbox.run("schedule", "add", "--cron", "0 0 31 2 *", "--type", "Agent")
        let prefix = "smrt-jobs: error: invalid cron expression '0 0 31 2 *': it never fires after "
        for result in [next, add] {
            expectFailure(result, mentioning: [prefix, "(no date matches its day, month and weekday)"])
        }
        // The same message, but for the time it was computed at.
        func withoutTime(_ text: String) -> String {
            text.replacingOccurrences(of: #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"#, with: "TIME", options: .regularExpression)
        }
        #expect(withoutTime(add.stderr) == withoutTime(next.stderr))
        #expect(!sandbox.dbExists)
    }

    @Test func retriesZeroShowsOneAttempt() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.enqueue("A", "m", "--retries", "0")
        #expect(try sandbox.run("show", String(id)).lines.contains("maxAttempts: 1"))
        let json = try #require(try parseJSON(sandbox.run("show", String(id), "--json").stdout) as? [String: Any])
        #expect(json["maxAttempts"] as? Int == 1)
        let store = try sandbox.store()
        _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: Date())
        #expect(try store.fail(id: id, workerId: "w", error: "boom", retryAt: Date(), now: Date()) == .failed)
        let table = try sandbox.run("list").lines
        #expect(table.count == 2)
        #expect(table[1].contains(" 1/1 "), "\(table)")
        // A row written with 0 by an older version prints as one attempt too.
        try store.withConnection { try $0.exec("UPDATE _smrt_jobs SET max_attempts = 0") }
        #expect(try sandbox.run("list").lines[1].contains(" 1/1 "))
        #expect(try sandbox.run("show", String(id)).lines.contains("maxAttempts: 1"))
    }

    @Test func deepNestingNamesTheLimit() throws {
        let sandbox = try Sandbox()
        // 100 000 levels do not fit one argument: a batch line carries them.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let file = try sandbox.file("deep.jsonl", #"{"objectType":"A","method":"m","args":{"a":"# + deep + "}}\n")
        let result = try sandbox.run("enqueue", "--batch", file)
        expectFailure(result, mentioning: ["line 1: invalid JSON in the job object: nested too deeply at byte",
                                           "at most 511 levels of arrays and objects"])
        #expect(!result.stderr.contains("unexpected '['"))
        let argument = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        expectFailure(try sandbox.run("enqueue", "A", "m", "--args", #"{"a":"# + argument + "}"),
                      mentioning: ["invalid JSON in --args: nested too deeply at byte 515: at most 511 levels"])
    }

    @Test func loneSurrogateNamesTheEscape() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run("enqueue", "A", "m", "--args", #"{"a":"\ud800"}"#)
        expectFailure(result, mentioning: [#"invalid JSON in --args: invalid \u escape at byte 6: lone surrogate \uD800"#])
        #expect(!result.stderr.contains("unexpected"))
    }

    @Test(arguments: [["--delay", "2914000d"], ["--timeout", "99999999999999999999"]])
    func hugeDurationsNameTheMaximum(option: [String]) throws {
        let sandbox = try Sandbox()
        let field = option[0].dropFirst(2)
        expectFailure(try sandbox.run(["enqueue", "A", "m"] + option),
                      mentioning: ["invalid \(field) '\(option[1])': too large: the maximum is 3153600000000 ms (36500d"])
        #expect(!sandbox.dbExists)
    }
}
