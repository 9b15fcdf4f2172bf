import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs stats [--queue Q] [--json]`.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Count jobs per status.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only jobs of this queue.", valueName: "queue"))
    var queue: String?

    @Flag(help: #"Print {"pending":n,"running":n,"completed":n,"failed":n,"cancelled":n}."#)
    var json = false

    func run() throws {
        let stats = try database.openForReading().stats(queue: queue)
        print(json ? Output.statsJSON(stats) : Output.statsLines(stats))
    }
}
