import Foundation
import SmrtJobs
import Testing

@Suite("CLI cron next")
struct CLICronTests {
    @Test(arguments: [
        (["*/15 * * * *", "--from", "2026-11-29T10:05:00Z", "--count", "3"],
         ["2026-11-29T10:15:00Z", "2026-11-29T10:30:00Z", "2026-11-29T10:45:00Z"]),
        (["@daily", "--from", "2026-11-29T10:05:00Z", "--count", "2"],
         ["2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"]),
        // Fields given as separate words work too.
        (["0", "9", "*", "*", "MON-FRI", "--from", "2026-11-27T12:00:00Z", "--count", "2"],
         ["2026-11-30T09:00:00Z", "2026-12-01T09:00:00Z"]),
        // New York, spring forward on 2026-03-08: 02:30 does not exist, a fixed-time job fires at 03:00 EDT.
        (["30 2 * * *", "--tz", "America/New_York", "--from", "2026-03-07T00:00:00Z", "--count", "3"],
         ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        // Fall back on 2026-11-01: 09:00 local moves from 13:00Z (EDT) to 14:00Z (EST).
        (["0 9 * * *", "--tz", "America/New_York", "--from", "2026-10-31T00:00:00Z", "--count", "3"],
         ["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z"]),
        (["@daily", "--tz", "America/New_York", "--from", "2026-03-07T12:00:00Z", "--count", "2"],
         ["2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"]),
    ])
    func knownTimes(args: [String], expected: [String]) throws {
        let result = try CLI.run(["cron", "next"] + args)
        #expect(result.status == 0, "\(result)")
        #expect(result.lines == expected)
    }

    @Test func defaultsToFiveTimesFromNow() throws {
        let result = try CLI.run(["cron", "next", "* * * * *"])
        #expect(result.status == 0, "\(result)")
        #expect(result.lines.count == 5)
        for line in result.lines {
            #expect(line.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$"#, options: .regularExpression) != nil)
        }
        let first = try #require(result.lines.first.flatMap { Timestamp.parse($0) })
        #expect(first > Date().addingTimeInterval(-1) && first <= Date().addingTimeInterval(61))
    }

    @Test(arguments: [
        (["61 * * * *"], ["invalid cron expression '61 * * * *'", "minute", "61"]),
        (["* 24 * * *"], ["hour"]),
        (["* * * *"], ["expected 5 fields"]),
        (["@reboot"], ["@reboot"]),
        (["* * * * *", "--tz", "Mars/Olympus"], ["unknown time zone 'Mars/Olympus'"]),
        (["* * * * *", "--from", "yesterday"], ["invalid from 'yesterday'"]),
        (["* * * * *", "--count", "0"], ["invalid count '0'"]),
        (["0 0 31 2 *"], ["never fires"]),
        (["@daily", "--from", "9999-12-31T00:00:00Z"], ["never fires"]),
    ])
    func errors(args: [String], fragments: [String]) throws {
        expectFailure(try CLI.run(["cron", "next"] + args), mentioning: fragments)
    }

    @Test func missingExpressionIsUsageError() throws {
        expectFailure(try CLI.run(["cron", "next"]), status: 2, mentioning: ["<expr>"])
    }
}

@Suite("CLI schedule")
struct CLIScheduleTests {
    @Test func addAppliesEveryOption() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(
            "schedule", "add", "--cron", "*/5 * * * *", "--type", "Agent", "--method", "tick", "--object-id", "a1",
            "--args", #"{"x":1}"#, "--config", #"{"k":"v"}"#, "--tz", "Europe/Berlin", "--max-concurrent", "2",
            "--timeout", "60000")
        #expect(result.status == 0, "\(result)")
        let id = try #require(Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let schedule = try #require(try sandbox.store().getSchedule(id: id))
        #expect(schedule.cron == "*/5 * * * *")
        #expect(schedule.agentType == "Agent")
        #expect(schedule.method == "tick")
        #expect(schedule.agentId == "a1")
        #expect(schedule.methodArgs == ["x": 1])
        #expect(schedule.agentConfig == ["k": "v"])
        #expect(schedule.timezone == "Europe/Berlin")
        #expect(schedule.maxConcurrent == 2)
        #expect(schedule.timeout == 60_000)
        #expect(schedule.status == .active)
        #expect(schedule.enabled)
        let next = try #require(schedule.nextRun)
        #expect(next > Date() && next <= Date().addingTimeInterval(301))
    }

    @Test func defaults() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run("schedule", "add", "--cron", "@hourly", "--type", "Cleaner")
        let id = try #require(Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let schedule = try #require(try sandbox.store().getSchedule(id: id))
        #expect(schedule.method == "run")
        #expect(schedule.agentId == nil)
        #expect(schedule.timezone == "UTC")
        #expect(schedule.maxConcurrent == 1)
        #expect(schedule.timeout == 3_600_000)
        #expect(schedule.methodArgs == [:])
    }

    @Test func listHumanAndJSON() throws {
        let sandbox = try Sandbox()
        _ = try sandbox.store()
        #expect(try sandbox.run("schedule", "list").stdout == "no schedules\n")
        #expect(try sandbox.run("schedule", "list", "--json").stdout == "[]\n")
        _ = try sandbox.run("schedule", "add", "--cron", "0 9 * * MON-FRI", "--type", "Digest", "--object-id", "d1")
        _ = try sandbox.run("schedule", "add", "--cron", "@daily", "--type", "Cleaner", "--method", "sweep")

        let human = try sandbox.run("schedule", "list")
        #expect(human.status == 0, "\(human)")
        #expect(human.lines.count == 3)
        for column in ["ID", "STATUS", "CRON", "TZ", "TARGET", "NEXT RUN"] { #expect(human.lines[0].contains(column)) }
        #expect(human.lines[1].hasPrefix("1 "))
        #expect(human.lines[1].contains("0 9 * * MON-FRI"))
        #expect(human.lines[1].contains("Digest#d1.run"))
        #expect(human.lines[2].contains("Cleaner.sweep"))

        let json = try sandbox.run("schedule", "list", "--json")
        let schedules = try #require(try parseJSON(json.stdout) as? [[String: Any]])
        #expect(schedules.count == 2)
        let first = schedules[0]
        for key in ["id", "agentType", "agentId", "agentConfig", "cron", "timezone", "enabled", "status", "nextRun",
                    "lastRun", "runCount", "successCount", "failureCount", "maxConcurrent", "runningCount", "timeout",
                    "method", "methodArgs", "createdAt", "updatedAt"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        #expect(!first.keys.contains { $0.contains("_") })
        #expect(first["agentType"] as? String == "Digest")
        #expect(first["agentId"] as? String == "d1")
        #expect(first["enabled"] as? Bool == true)
        #expect(first["lastRun"] is NSNull)
        #expect(isStoredTimestamp(first["nextRun"]))
        #expect(schedules[1]["method"] as? String == "sweep")
    }

    @Test func lifecycle() throws {
        let sandbox = try Sandbox()
        let id = try #require(Int64(try sandbox.run("schedule", "add", "--cron", "@daily", "--type", "A").lines.first ?? ""))
        let store = try sandbox.store()

        let pause = try sandbox.run("schedule", "pause", String(id))
        #expect(pause.status == 0, "\(pause)")
        #expect(pause.stdout.contains("schedule \(id) paused"))
        #expect(try store.getSchedule(id: id)?.status == .paused)

        let resume = try sandbox.run("schedule", "resume", String(id))
        #expect(resume.status == 0, "\(resume)")
        #expect(try store.getSchedule(id: id)?.status == .active)

        #expect(try sandbox.run("schedule", "disable", String(id)).status == 0)
        let disabled = try #require(try store.getSchedule(id: id))
        #expect(disabled.status == .disabled)
        #expect(!disabled.enabled)

        let enable = try sandbox.run("schedule", "enable", String(id))
        #expect(enable.status == 0)
        #expect(enable.stdout.contains("next run"))
        let enabled = try #require(try store.getSchedule(id: id))
        #expect(enabled.status == .active)
        #expect(enabled.enabled)
        #expect(enabled.nextRun != nil)

        let remove = try sandbox.run("schedule", "remove", String(id))
        #expect(remove.status == 0, "\(remove)")
        #expect(try store.listSchedules().isEmpty)
        expectFailure(try sandbox.run("schedule", "remove", String(id)), mentioning: ["schedule \(id) not found"])
    }

    @Test(arguments: ["enable", "disable", "pause", "resume", "remove"])
    func unknownSchedule(action: String) throws {
        let sandbox = try Sandbox()
        _ = try sandbox.run("schedule", "add", "--cron", "@daily", "--type", "A")
        expectFailure(try sandbox.run("schedule", action, "9"), mentioning: ["schedule 9 not found"])
        let empty = try Sandbox()
        expectFailure(try empty.run("schedule", action, "9"), mentioning: ["no such database: \(empty.dbPath)"])
        #expect(!empty.dbExists)
    }

    @Test(arguments: [
        (["--cron", "61 * * * *"], ["invalid cron expression '61 * * * *'", "minute"]),
        (["--cron", "@daily", "--tz", "Mars/Olympus"], ["unknown time zone 'Mars/Olympus'"]),
        (["--cron", "@daily", "--max-concurrent", "0"], ["invalid maxConcurrent '0'"]),
        (["--cron", "@daily", "--timeout", "0"], ["invalid timeout '0'"]),
        (["--cron", "@daily", "--timeout", "soon"], ["invalid timeout 'soon'"]),
        (["--cron", "@daily", "--args", "{not-json"], ["invalid JSON in --args"]),
        (["--cron", "@daily", "--config", "[]"], ["--config"]),
    ])
    func badAddWritesNothing(options: [String], fragments: [String]) throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run(["schedule", "add", "--type", "Agent"] + options), mentioning: fragments)
        #expect(!sandbox.dbExists)
        // Nor adds a row to an existing database.
        _ = try sandbox.run("schedule", "add", "--cron", "@daily", "--type", "A")
        expectFailure(try sandbox.run(["schedule", "add", "--type", "Agent"] + options), mentioning: fragments)
        #expect(try sandbox.store().listSchedules().count == 1)
    }

    @Test(arguments: [["schedule", "add", "--type", "A"], ["schedule", "add", "--cron", "@daily"],
                      ["schedule", "pause"], ["schedule", "explode", "1"], ["schedule", "pause", "x"]])
    func usageErrors(args: [String]) throws {
        let sandbox = try Sandbox()
        expectFailure(try sandbox.run(args), status: 2, mentioning: [])
        #expect(!sandbox.dbExists)
    }
}
