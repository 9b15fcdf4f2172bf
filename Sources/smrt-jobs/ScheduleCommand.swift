import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs schedule add|list|enable|disable|pause|resume|remove`.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Manage cron schedules that enqueue jobs (on queue 'agents').",
        subcommands: [
            ScheduleAddCommand.self, ScheduleListCommand.self, ScheduleEnableCommand.self,
            ScheduleDisableCommand.self, SchedulePauseCommand.self, ScheduleResumeCommand.self,
            ScheduleRemoveCommand.self,
        ])
}

struct ScheduleAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create a schedule and print its id.",
        discussion: "Everything is checked before the database is opened: a bad value writes nothing.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Option(help: ArgumentHelp("The cron expression, e.g. '0 9 * * MON-FRI' or @daily.", valueName: "expr"))
    var cron: String

    @Option(name: .customLong("type"), help: ArgumentHelp("The registered type the fired job runs on.", valueName: "type"))
    var agentType: String

    @Option(help: ArgumentHelp("The method to call.", valueName: "method"))
    var method: String = "run"

    @Option(help: ArgumentHelp("The id of the object to load (default: none, a static job).", valueName: "id"))
    var objectId: String?

    @Option(help: ArgumentHelp("Arguments for the method, as a JSON object.", valueName: "json"))
    var args: String?

    @Option(help: ArgumentHelp("Configuration passed to the job as _agentConfig, a JSON object.", valueName: "json"))
    var config: String?

    @Option(help: ArgumentHelp("IANA time zone the expression is read in.", valueName: "zone"))
    var tz: String = "UTC"

    @Option(parsing: .unconditional, help: ArgumentHelp("Fired jobs that may run at once.", valueName: "n"))
    var maxConcurrent: Int = 1

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Timeout of each fired job in milliseconds (or 30s, 10m; default: 3600000).", valueName: "ms"))
    var timeout: String?

    func run() throws {
        let spec = AgentScheduleSpec(
            agentType: agentType, cron: cron, method: method, agentId: objectId,
            methodArgs: try args.map { try JSONValue.parseObject($0, what: "--args") } ?? [:],
            agentConfig: try config.map { try JSONValue.parseObject($0, what: "--config") }, timezone: tz,
            maxConcurrent: maxConcurrent,
            timeout: try timeout.map { try DelayParser.milliseconds($0, field: "timeout") } ?? 3_600_000)
        let now = Date()
        try spec.validate(now: now)
        let schedule = try ScheduleRunner.createSchedule(spec, in: try database.openForWriting(creating: true, initOption), now: now)
        print(schedule.id)
    }
}

struct ScheduleListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List schedules by id.", discussion: RevealOption.discussion)

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print a JSON array of schedules (camelCase fields, ISO-8601 dates).")
    var json = false

    @OptionGroup var reveal: RevealOption

    func run() throws {
        let schedules = try database.openForReading().listSchedules()
        if json {
            print(Output.jsonArray(try schedules.map { try Output.json($0, reveal: reveal.reveal) }))
        } else if schedules.isEmpty {
            print("no schedules")
        } else {
            print(Output.scheduleTable(schedules, reveal: reveal.reveal))
        }
    }
}

/// enable, disable, pause and resume: `ScheduleRunner.apply`.
protocol ScheduleActionCommand: ParsableCommand {
    static var action: ScheduleAction { get }
    static var pastTense: String { get }
    var database: DatabaseOptions { get }
    var initOption: InitOption { get }
    var id: Int64 { get }
}

extension ScheduleActionCommand {
    static func makeConfiguration(_ abstract: String) -> CommandConfiguration {
        CommandConfiguration(commandName: action.rawValue, abstract: abstract)
    }

    func run() throws {
        let store = try database.openForWriting(creating: false, initOption)
        let schedule = try ScheduleRunner.apply(Self.action, toSchedule: id, in: store, now: Date())
        var line = "schedule \(id) \(Self.pastTense)"
        if schedule.status == .active { line += ", next run \(Output.time(schedule.nextRun))" }
        print(line)
    }
}

struct ScheduleEnableCommand: ScheduleActionCommand {
    static let configuration: CommandConfiguration = makeConfiguration("Enable a schedule; its next run is computed from now.")
    static let action = ScheduleAction.enable
    static let pastTense = "enabled"
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The schedule id.") var id: Int64
}

struct ScheduleDisableCommand: ScheduleActionCommand {
    static let configuration: CommandConfiguration = makeConfiguration("Disable a schedule.")
    static let action = ScheduleAction.disable
    static let pastTense = "disabled"
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The schedule id.") var id: Int64
}

struct SchedulePauseCommand: ScheduleActionCommand {
    static let configuration: CommandConfiguration = makeConfiguration("Pause a schedule (it stays enabled).")
    static let action = ScheduleAction.pause
    static let pastTense = "paused"
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The schedule id.") var id: Int64
}

struct ScheduleResumeCommand: ScheduleActionCommand {
    static let configuration: CommandConfiguration = makeConfiguration("Resume a paused schedule; missed runs are not replayed.")
    static let action = ScheduleAction.resume
    static let pastTense = "resumed"
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The schedule id.") var id: Int64
}

struct ScheduleRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a schedule.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Argument(help: "The schedule id.")
    var id: Int64

    func run() throws {
        let store = try database.openForWriting(creating: false, initOption)
        try store.deleteSchedule(id: id)
        print("schedule \(id) removed")
    }
}
