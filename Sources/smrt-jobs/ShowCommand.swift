import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs show ID [--json]`.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one job as key: value lines or as JSON.",
        discussion: RevealOption.discussion)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The job id.")
    var id: Int64

    @Flag(help: "Print the job as a JSON object (camelCase fields, ISO-8601 dates).")
    var json = false

    @OptionGroup var reveal: RevealOption

    func run() throws {
        guard let job = try database.openForReading().get(id: id) else { throw SmrtJobsError.jobNotFound(id) }
        print(json ? try Output.json(job, reveal: reveal.reveal).jsonText : Output.jobLines(job, reveal: reveal.reveal))
    }
}
