import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs list [--status S] [--queue Q] [--limit N] [--json]`.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List jobs, newest first, as a table or a JSON array.",
        discussion: RevealOption.discussion)

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("pending, running, completed, failed or cancelled.", valueName: "status"))
    var status: String?

    @Option(help: ArgumentHelp("Only jobs of this queue.", valueName: "queue"))
    var queue: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("At most this many jobs.", valueName: "n"))
    var limit: Int = 100

    @Flag(help: "Print a JSON array of jobs (camelCase fields, ISO-8601 dates).")
    var json = false

    @OptionGroup var reveal: RevealOption

    func run() throws {
        let status = try self.status.map(Self.parseStatus)
        guard limit >= 1 else {
            throw SmrtJobsError.invalidValue(field: "limit", value: String(limit), reason: "must be at least 1")
        }
        let jobs = try database.openForReading().list(JobQuery(status: status, queue: queue, limit: limit))
        if json {
            print(Output.jsonArray(try jobs.map { try Output.json($0, reveal: reveal.reveal) }))
        } else if jobs.isEmpty {
            print("no jobs")
        } else {
            print(Output.jobTable(jobs, reveal: reveal.reveal))
        }
    }

    static func parseStatus(_ text: String) throws -> JobStatus {
        guard let status = JobStatus(rawValue: text.lowercased()) else {
            throw SmrtJobsError.invalidValue(
                field: "status", value: text, reason: "expected pending, running, completed, failed or cancelled")
        }
        return status
    }
}
