import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs prune [--completed-before D] [--failed-before D] [--cancelled-before D] [--dry-run]`.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete finished jobs older than a cutoff, and print how many were (or would be) deleted.",
        discussion: """
            A cutoff D is an age (7d, 12h, 30m, 500ms: finished before now minus that) or an ISO-8601 time. \
            Jobs are aged by completedAt. Give at least one of the three cutoffs.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Option(parsing: .unconditional, help: ArgumentHelp("Delete completed jobs finished before D.", valueName: "D"))
    var completedBefore: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Delete failed jobs finished before D.", valueName: "D"))
    var failedBefore: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Delete cancelled jobs cancelled before D.", valueName: "D"))
    var cancelledBefore: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Delete at most this many jobs (oldest first).", valueName: "n"))
    var limit: Int?

    @Flag(help: "Only count what would be deleted.")
    var dryRun = false

    func validate() throws {
        if completedBefore == nil && failedBefore == nil && cancelledBefore == nil {
            throw ValidationError("give at least one of --completed-before, --failed-before, --cancelled-before")
        }
    }

    func run() throws {
        let now = Date()
        let options = CleanupOptions(
            completedBefore: try completedBefore.map { try TimeParser.cutoff($0, now: now, field: "--completed-before") },
            failedBefore: try failedBefore.map { try TimeParser.cutoff($0, now: now, field: "--failed-before") },
            cancelledBefore: try cancelledBefore.map { try TimeParser.cutoff($0, now: now, field: "--cancelled-before") },
            limit: limit, dryRun: dryRun)
        if let limit, limit < 1 {
            throw SmrtJobsError.invalidValue(field: "limit", value: String(limit), reason: "must be at least 1")
        }
        let count = try database.openForWriting(creating: false, initOption).cleanup(options, now: now)
        print(dryRun ? "would delete \(Output.plural(count, "job"))" : "deleted \(Output.plural(count, "job"))")
    }
}
