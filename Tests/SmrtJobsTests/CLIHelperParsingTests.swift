import Foundation
import Testing
@testable import SmrtJobs

/// The library helpers behind `smrt-jobs enqueue --batch`, `prune` and `schedule add`.
@Suite struct JobSpecJSONTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func spec(_ json: String, line: Int? = nil) throws -> JobSpec {
        try JobSpec(jsonObject: JSONValue.parseObject(json), lineNumber: line, now: now)
    }

    @Test func everyKey() throws {
        let s = try spec(
            #"{"objectType":"Doc","method":"render","objectId":"d1","args":{"a":[1]},"queue":"q","priority":"high","delay":"5m","retries":5,"timeout":"10s","timeoutBehavior":"kill"}"#)
        #expect(s.objectType == "Doc")
        #expect(s.method == "render")
        #expect(s.objectId == "d1")
        #expect(s.args == ["a": [1]])
        #expect(s.queue == "q")
        #expect(s.priority == 75)
        #expect(s.runAt == now.addingTimeInterval(300))
        #expect(s.maxAttempts == 5)
        #expect(s.timeout == 10_000)
        #expect(s.timeoutBehavior == .kill)
    }

    @Test func defaultsNumbersAndNulls() throws {
        let s = try spec(#"{"objectType":"Doc","method":"render","objectId":7,"priority":-3,"delay":250,"timeout":1000,"args":null}"#)
        #expect(s.objectId == "7")
        #expect(s.priority == -3)
        #expect(s.runAt == now.addingTimeInterval(0.25))
        #expect(s.timeout == 1000)
        #expect(s.args == [:])
        #expect(s.queue == "default")
        #expect(s.maxAttempts == 3)
        #expect(s.timeoutBehavior == .fail)
        let plain = try spec(#"{"objectType":"Doc","method":"render"}"#)
        #expect(plain.runAt == nil)
        #expect(plain == JobSpec(objectType: "Doc", method: "render"))
    }

    @Test func runAt() throws {
        let s = try spec(#"{"objectType":"Doc","method":"render","runAt":"2030-01-02T03:04:05Z"}"#)
        #expect(s.runAt == Timestamp.parse("2030-01-02T03:04:05Z"))
    }

    @Test(arguments: [
        (#"{"objectType":"A","method":"m","prio":1}"#, "prio", "unknown key 'prio'"),
        (#"{"method":"m"}"#, "objectType", "missing required key 'objectType'"),
        (#"{"objectType":"A","method":"m","priority":"urgent"}"#, "priority",
         "invalid priority 'urgent': expected critical, high, normal, low or an integer"),
        (#"{"objectType":"A","method":"m","priority":true}"#, "priority", "invalid priority 'true'"),
        (#"{"objectType":"A","method":"m","delay":"5x"}"#, "delay", "invalid delay '5x'"),
        (#"{"objectType":"A","method":"m","delay":1.5}"#, "delay", "invalid delay '1.5'"),
        (#"{"objectType":"A","method":"m","retries":-3}"#, "retries", "invalid retries '-3': must be between 0 and 25"),
        (#"{"objectType":"A","method":"m","timeout":0}"#, "timeout", "invalid timeout '0'"),
        (#"{"objectType":"A","method":"m","timeoutBehavior":"explode"}"#, "timeoutBehavior",
         "invalid timeoutBehavior 'explode': expected fail, kill or warn"),
        (#"{"objectType":"A","method":"m","runAt":"yesterday"}"#, "runAt", "invalid runAt 'yesterday'"),
        (#"{"objectType":"A","method":"m","runAt":"2030-01-01T00:00:00Z","delay":5}"#, "runAt", "cannot both be given"),
        (#"{"objectType":"A","method":"m","args":"x"}"#, "args", "invalid args 'x'"),
        (#"{"objectType":"","method":"m"}"#, "objectType", "invalid objectType ''"),
        (#"{"objectType":"A","method":"m","queue":5}"#, "queue", "invalid queue '5'"),
        (#"{"objectType":"A","method":"m","queue":"  "}"#, "queue", "invalid queue '  ': must not be empty"),
        (#"{"objectType":"A","method":"m","objectId":""}"#, "objectId", "invalid objectId ''"),
    ])
    func errorsNameLineKeyAndProblem(json: String, key: String, message: String) throws {
        #expect {
            try spec(json, line: 3)
        } throws: { error in
            guard let error = error as? JobSpecDecodingError else { return false }
            return error.line == 3 && error.key == key && error.message.contains(message)
                && "\(error)".hasPrefix("line 3: ")
        }
    }

    @Test func withoutLineTheMessageStandsAlone() throws {
        #expect {
            try spec(#"{"objectType":"A","method":"m","priority":"urgent"}"#)
        } throws: { error in
            "\(error)" == "invalid priority 'urgent': expected critical, high, normal, low or an integer"
        }
    }
}

@Suite struct TimeParserTests {
    @Test(arguments: [
        ("2026-11-29T10:05:00Z", "2026-11-29T10:05:00.000Z"),
        ("2026-11-29T10:05:00.250Z", "2026-11-29T10:05:00.250Z"),
        ("2026-11-29T10:05:00", "2026-11-29T10:05:00.000Z"),
        ("2026-11-29 10:05:00", "2026-11-29T10:05:00.000Z"),
        ("2026-11-29T11:05:00+01:00", "2026-11-29T10:05:00.000Z"),
        ("2026-11-29T05:05:00.5-05:00", "2026-11-29T10:05:00.500Z"),
        ("2026-11-29", "2026-11-29T00:00:00.000Z"),
        ("2028-02-29T00:00:00Z", "2028-02-29T00:00:00.000Z"),
    ])
    func dates(text: String, expected: String) throws {
        #expect(Timestamp.format(try TimeParser.date(text)) == expected)
    }

    @Test(arguments: ["yesterday", "", "2026-02-31T00:00:00Z", "2027-02-29", "2026-13-01T00:00:00Z",
                      "2026-11-29T25:00:00Z", "2026-02-30T10:00:00+01:00", "29/11/2026"])
    func badDates(text: String) {
        #expect {
            try TimeParser.date(text, field: "runAt")
        } throws: { error in
            "\(error)".hasPrefix("invalid runAt '\(text)'")
        }
    }

    @Test func cutoffs() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try TimeParser.cutoff("7d", now: now, field: "x") == now.addingTimeInterval(-7 * 86_400))
        #expect(try TimeParser.cutoff("90m", now: now, field: "x") == now.addingTimeInterval(-5400))
        #expect(try TimeParser.cutoff("0", now: now, field: "x") == now)
        #expect(try TimeParser.cutoff("2026-01-01T00:00:00Z", now: now, field: "x") == Timestamp.parse("2026-01-01T00:00:00Z"))
        #expect {
            try TimeParser.cutoff("last week", now: now, field: "--completed-before")
        } throws: { error in
            "\(error)".hasPrefix("invalid --completed-before 'last week'")
        }
    }
}

@Suite struct AgentScheduleSpecValidationTests {
    @Test func validSpecPasses() throws {
        try AgentScheduleSpec(agentType: "A", cron: "*/5 * * * *", timezone: "Europe/Berlin").validate()
    }

    @Test(arguments: [
        (AgentScheduleSpec(agentType: "A", cron: "61 * * * *"), "minute"),
        (AgentScheduleSpec(agentType: "A", cron: "@daily", timezone: "Mars/Olympus"), "Mars/Olympus"),
        (AgentScheduleSpec(agentType: "", cron: "@daily"), "agentType"),
        (AgentScheduleSpec(agentType: "A", cron: "@daily", method: ""), "method"),
        (AgentScheduleSpec(agentType: "A", cron: "@daily", maxConcurrent: 0), "maxConcurrent"),
        (AgentScheduleSpec(agentType: "A", cron: "@daily", timeout: 0), "timeout"),
    ])
    func rejects(spec: AgentScheduleSpec, fragment: String) {
        #expect {
            try spec.validate()
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }
}
