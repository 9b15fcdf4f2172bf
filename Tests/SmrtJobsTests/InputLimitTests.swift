import Foundation
import SmrtJobsMemory
import Testing

@testable import SmrtJobs

/// Args too large for a worker are refused on every path; the size is counted without building the text.
@Suite struct ArgsSizeTests {
    /// `{"a":"xxx…"}` whose JSON text is exactly `bytes` long.
    static func args(bytes: Int) -> [String: JSONValue] {
        ["a": .string(String(repeating: "x", count: bytes - 8))]
    }

    @Test(arguments: [
        JSONValue.null, true, false, 0, 7, -7, .int(.max), .int(.min), 1.5, -0.25, 1e300, 12.0, .double(.nan),
        "", "plain", "quote \" backslash \\ slash / newline \n cr \r tab \t", "\u{1}\u{1F}\u{7F}", "é 😀 日本",
        [], [1, "two", [3, [4]]], [:], ["b": 1, "a": ["x": nil, "y": [true]], "é": "\u{0}"],
    ] as [JSONValue])
    func byteCountIsTheLengthOfTheText(value: JSONValue) {
        #expect(value.jsonByteCount == value.jsonText.utf8.count, "\(value.jsonText)")
    }

    @Test func theLimitIsTheFrameLessTheRunMessagesOtherFields() throws {
        let spec = JobSpec(objectType: "Doc", method: "render", objectId: "d-1")
        // 4 MiB less type, id, attempt and deadline (21), three length prefixes and the objectId flag (13), the
        // objectId with its length prefix, and the names.
        #expect(spec.maxArgsBytes == (4 << 20) - 34 - (4 + 3) - 3 - 6)
        var fits = spec
        fits.args = Self.args(bytes: spec.maxArgsBytes)
        #expect(JSONValue.object(fits.args).jsonText.utf8.count == spec.maxArgsBytes)
        try fits.validate()
        var over = spec
        over.args = Self.args(bytes: spec.maxArgsBytes + 1)
        #expect(throws: SmrtJobsError.argsTooLarge(bytes: spec.maxArgsBytes + 1, limit: spec.maxArgsBytes)) {
            try over.validate()
        }
        let message = SmrtJobsError.argsTooLarge(bytes: 104_857_612, limit: 4_194_261).description
        #expect(message == "args too large: 104857612 bytes of JSON exceed the limit of 4194261 bytes "
            + "(a job must fit the worker protocol's 4194304-byte frame)")
    }

    @Test func everyEnqueuePathRefusesAndWritesNothing() async throws {
        let backend = MemoryBackend()
        let queue = try await JobQueue(backend: backend)
        let big = Self.args(bytes: 5 << 20)
        do {
            _ = try await queue.background("Doc", "render", args: big).retries(2).enqueue()
            Issue.record("the builder enqueued 5 MiB of args")
        } catch SmrtJobsError.argsTooLarge(let bytes, let limit) {
            #expect(bytes == 5 << 20)
            #expect(limit == JobSpec.maxArgsBytes(objectType: "Doc", method: "render", objectId: nil))
        }
        await #expect(throws: SmrtJobsError.self) {
            try await queue.enqueue(JobSpec(objectType: "Doc", method: "render", args: big))
        }
        await #expect(throws: SmrtJobsError.self) {
            try await queue.enqueue(batch: [JobSpec(objectType: "Doc", method: "render"), JobSpec(objectType: "D", method: "m", args: big)])
        }
        let store = try backend.openStore(.readWrite)
        #expect(throws: SmrtJobsError.self) { try store.enqueue(JobSpec(objectType: "D", method: "m", args: big), now: Date()) }
        #expect(try store.stats(queue: nil) == JobStats(), "nothing was written")
        await queue.close()
    }

    @Test func aJobObjectNamesTheLineAndTheKey() throws {
        let object: [String: JSONValue] = ["objectType": "Doc", "method": "m", "args": .object(Self.args(bytes: 4 << 20))]
        do {
            _ = try JobSpec(jsonObject: object, lineNumber: 7)
            Issue.record("accepted")
        } catch let error as JobSpecDecodingError {
            #expect(error.line == 7)
            #expect(error.key == "args")
            #expect(error.description.hasPrefix("line 7: args too large: 4194304 bytes of JSON exceed the limit of "))
        }
    }

    @Test func schedulesCheckTheJobsTheyWillFire() throws {
        let store = MemoryJobStore()
        let bigArgs = AgentScheduleSpec(agentType: "Agent", cron: "@daily", methodArgs: Self.args(bytes: 4 << 20))
        let bigConfig = AgentScheduleSpec(agentType: "Agent", cron: "@daily", agentConfig: Self.args(bytes: 4 << 20))
        for spec in [bigArgs, bigConfig] {
            #expect(throws: SmrtJobsError.self) { try spec.validate() }
            #expect(throws: SmrtJobsError.self) { try ScheduleRunner.createSchedule(spec, in: store) }
        }
        #expect(try store.listSchedules().isEmpty)
    }
}

/// `retries` 0 means one attempt, never retried, and is kept as 1 (so nothing shows "1/0").
@Suite struct RetriesZeroTests {
    @Test func zeroIsKeptAsOneAttemptOnEveryPath() async throws {
        #expect(JobSpec(objectType: "A", method: "m", maxAttempts: 0).maxAttempts == 1)
        var spec = JobSpec(objectType: "A", method: "m")
        spec.maxAttempts = 0
        #expect(spec.maxAttempts == 1)
        #expect(try JobSpec(jsonObject: ["objectType": "A", "method": "m", "retries": 0]).maxAttempts == 1)
        let queue = try await JobQueue(backend: MemoryBackend())
        let builder = try queue.background("A", "m").retries(0)
        #expect(builder.spec.maxAttempts == 1)
        let job = try await builder.enqueue().job()
        #expect(job.maxAttempts == 1)
        await queue.close()
    }

    @Test func outOfRangeIsStillRefused() throws {
        for bad in [-1, 26] {
            #expect(throws: SmrtJobsError.self) { try JobSpec(objectType: "A", method: "m", maxAttempts: bad).validate() }
        }
        #expect(JobSpec(objectType: "A", method: "m", maxAttempts: -1).maxAttempts == -1, "only 0 is taken as 1")
    }

    @Test func aJobOfOneAttemptIsNotRetried() {
        let job = SmrtJob(
            id: 1, objectType: "A", method: "m", runAt: Date(), attempts: 1,
            maxAttempts: JobSpec(objectType: "A", method: "m", maxAttempts: 0).maxAttempts, createdAt: Date(), updatedAt: Date())
        var random = SystemRandomNumberGenerator()
        #expect(RetryStrategy.default.nextRunAt(after: job, now: Date(), using: &random) == nil)
    }
}

/// ISO-8601 offsets that cannot be real are refused instead of being read as 99 hours.
@Suite struct TimeOffsetTests {
    @Test(arguments: ["+99:00", "+24:00", "+00:99", "-24:00", "+23:60", "+9900", "+24"])
    func impossibleOffsetsAreRefused(offset: String) {
        let text = "2026-11-29T10:05:00\(offset)"
        #expect {
            try TimeParser.date(text, field: "runAt")
        } throws: { error in
            "\(error)" == "invalid runAt '\(text)': UTC offset \(offset) is out of range "
                + "(±hh:mm with hours 00-23 and minutes 00-59, e.g. +01:00)"
        }
    }

    @Test(arguments: [("+01:00", -3600), ("-05:30", 19_800), ("+14:00", -50_400), ("-23:59", 86_340), ("+0530", -19_800),
                      ("+00:00", 0), ("Z", 0)])
    func realOffsetsAreRead(offset: String, shift: Int) throws {
        let date = try TimeParser.date("2026-11-29T10:05:00\(offset)")
        let utc = try TimeParser.date("2026-11-29T10:05:00Z")
        #expect(date.timeIntervalSince(utc) == Double(shift))
    }

    @Test func otherMalformedTimesKeepTheGeneralMessage() {
        #expect {
            try TimeParser.date("2026-11-29T10:05:00+ab:cd", field: "runAt")
        } throws: { error in
            "\(error)".hasSuffix("expected an ISO-8601 time such as 2026-11-29T10:05:00Z")
        }
    }
}

/// A schedule that can never fire is refused when it is added, with `cron next`'s message.
@Suite struct NeverFiringScheduleTests {
    @Test(arguments: ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
    func refusedAtAdd(cron: String) throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let expected = CronExpression.neverFires(cron, after: now)
        #expect(expected.description == "invalid cron expression '\(cron)': it never fires after 2027-01-15T08:00:00Z "
            + "(no date matches its day, month and weekday)")
        let spec = AgentScheduleSpec(agentType: "Agent", cron: cron)
        #expect(throws: expected) { try spec.validate(now: now) }
        let store = MemoryJobStore()
        #expect(throws: expected) { try ScheduleRunner.createSchedule(spec, in: store, now: now) }
        var disabled = spec
        disabled.enabled = false
        #expect(throws: expected) { try ScheduleRunner.createSchedule(disabled, in: store, now: now) }
        #expect(try store.listSchedules().isEmpty)
    }
}

/// Parse errors say what is wrong, not only which byte was unexpected.
@Suite struct JSONErrorMessageTests {
    func message(_ text: String) -> String {
        do {
            _ = try JSONValue.parse(text, what: "--args")
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    @Test func nestingNamesTheDepthLimit() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(message(deep) == "invalid JSON in --args: nested too deeply at byte 511: at most 511 levels of arrays and objects")
        #expect(message("{\"a\":" + deep + "}").contains("nested too deeply at byte 515"))
        let limit = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        #expect(try JSONValue.parse(limit) != .null)
        #expect(message("[" + limit + "]").contains("at most 511 levels"))
    }

    @Test(arguments: [
        (#"{"a":"\ud800"}"#, #"invalid \u escape at byte 6: lone surrogate \uD800 (a high surrogate must be followed by a low one, \uDC00-\uDFFF)"#),
        (#"{"a":"\ud800\u0041"}"#, #"invalid \u escape at byte 6: lone surrogate \uD800"#),
        (#"{"a":"x\udc00"}"#, #"invalid \u escape at byte 7: lone surrogate \uDC00 (a low surrogate must follow a high one)"#),
        (#"{"a":"\u12G4"}"#, #"invalid \u escape at byte 6: expected four hex digits"#),
        (#"{"a":"\x"}"#, #"invalid escape '\x' at byte 6"#),
    ])
    func escapesNameTheProblem(text: String, expected: String) {
        let got = message(text)
        #expect(got.hasPrefix("invalid JSON in --args: " + expected), "\(got)")
        #expect(!got.contains("unexpected"))
    }

    @Test func aSurrogatePairIsFine() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == "😀")
    }

    @Test func otherErrorsKeepTheirMessage() {
        #expect(message(#"{"a":1,}"#) == "invalid JSON in --args: unexpected '}' at byte 7")
        #expect(message(#"{"a":"#) == "invalid JSON in --args: unexpected end of input at byte 5")
    }
}

/// A well-formed delay that is too large says so, with the maximum.
@Suite struct DelayTooLargeTests {
    @Test(arguments: ["2914000d", "36501d", "99999999999999999999", "3153600000001", "9999999999999999h"])
    func namesTheMaximum(text: String) {
        #expect {
            try DelayParser.milliseconds(text, field: "delay")
        } throws: { error in
            "\(error)" == "invalid delay '\(text)': too large: the maximum is 3153600000000 ms (36500d, about 100 years)"
        }
    }

    @Test func theMaximumItselfIsAccepted() throws {
        #expect(try DelayParser.milliseconds("36500d") == 3_153_600_000_000)
        #expect(try DelayParser.milliseconds("3153600000000") == 3_153_600_000_000)
    }
}
