import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs cron next EXPR [--from ISO8601] [--count N] [--tz ZONE]`.
struct CronCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron", abstract: "Work with cron expressions.", subcommands: [CronNextCommand.self])
}

struct CronNextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next",
        abstract: "Print the next fire times of a cron expression, one per line, in UTC (2026-11-29T10:05:00Z).",
        discussion: """
            EXPR is five fields (minute hour day-of-month month day-of-week) or a macro such as @daily; quote it. \
            Times are computed on the wall clock of --tz (daylight-saving rules as in Vixie cron) and printed in UTC.
            """)

    /// Accepted so that every subcommand takes --db; cron needs no database.
    @OptionGroup(visibility: .hidden) var database: DatabaseOptions

    @Argument(help: ArgumentHelp("The cron expression, e.g. '*/15 9-17 * * MON-FRI' or @daily.", valueName: "expr"))
    var expression: [String] = []

    @Option(help: ArgumentHelp("Start after this ISO-8601 time (default: now).", valueName: "time"))
    var from: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("How many fire times, 1-1000.", valueName: "n"))
    var count: Int = 5

    @Option(help: ArgumentHelp("IANA time zone the expression is read in.", valueName: "zone"))
    var tz: String = "UTC"

    static let maxCount = 1000
    static let endOfYear9999 = Date(timeIntervalSince1970: 253_402_300_800)

    func validate() throws {
        if expression.isEmpty { throw ValidationError("missing expected argument '<expr>'") }
    }

    func run() throws {
        let cron = try CronExpression(parsing: expression.joined(separator: " "))
        let zone = try CronExpression.timeZone(named: tz)
        let start = try from.map { try TimeParser.date($0, field: "from") } ?? Date()
        guard (1...Self.maxCount).contains(count) else {
            throw SmrtJobsError.invalidValue(field: "count", value: String(count), reason: "must be between 1 and \(Self.maxCount)")
        }
        // Past year 9999 there is no four-digit ISO-8601 year to print.
        let dates = cron.nextDates(after: start, count: count, in: zone).filter { $0 < Self.endOfYear9999 }
        if dates.isEmpty { throw CronExpression.neverFires(expression.joined(separator: " "), after: start) }
        print(dates.map(Output.time).joined(separator: "\n"))
    }
}
