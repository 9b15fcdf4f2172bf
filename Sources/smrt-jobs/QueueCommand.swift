import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs queue list|pause|resume|set`: queues as objects. A queue exists once named.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "List queues, pause or resume one, set its global concurrency limit.",
        discussion: """
            A queue exists once named: pausing or limiting a queue that has no jobs yet is fine. A paused queue's \
            jobs are not claimed (running ones finish); a limit of N lets at most N of its jobs run at once across \
            every supervisor and host. Supervisors notice a change within a second.
            """,
        subcommands: [QueueListCommand.self, QueuePauseCommand.self, QueueResumeCommand.self, QueueSetCommand.self])

    /// The store's queue operations, or a failure naming what the store lacks.
    static func queueStore(_ store: any JobStore & ScheduleStore) throws -> any QueueStore {
        guard let queues = store as? any QueueStore else { throw CLIError("this database backend has no queue settings") }
        return queues
    }

    static func validateName(_ name: String) throws {
        if name.isEmpty { throw ValidationError("the queue name must not be empty") }
    }
}

/// `smrt-jobs queue list [--json]`.
struct QueueListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Every queue with jobs or settings: counts per status, paused, limit, age of the oldest ready job.")

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print a JSON array, one object per queue.")
    var json = false

    func run() throws {
        let now = Date()
        let list = try QueueCommand.queueStore(database.openForReading()).listQueues(now: now)
        print(json ? Self.json(list, now: now) : Self.table(list, now: now))
    }

    static func age(_ info: QueueInfo, now: Date) -> Double? {
        info.oldestReadyRunAt.map { max(0, (now.timeIntervalSince($0) * 1000).rounded() / 1000) }
    }

    static func json(_ list: [QueueInfo], now: Date) -> String {
        JSONValue.array(list.map { info in
            .object([
                "name": .string(info.name),
                "paused": .bool(info.paused),
                "concurrency": info.concurrency.map { .int(Int64($0)) } ?? .null,
                "pending": .int(Int64(info.counts.pending)), "running": .int(Int64(info.counts.running)),
                "completed": .int(Int64(info.counts.completed)), "failed": .int(Int64(info.counts.failed)),
                "cancelled": .int(Int64(info.counts.cancelled)),
                "oldest_ready_run_at": info.oldestReadyRunAt.map { .string(Timestamp.format($0)) } ?? .null,
                "oldest_ready_age_seconds": age(info, now: now).map { .double($0) } ?? .null,
            ])
        }).jsonText
    }

    static func table(_ list: [QueueInfo], now: Date) -> String {
        if list.isEmpty { return "no queues" }
        let header = ["QUEUE", "STATE", "LIMIT", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "OLDEST READY"]
        let rows = list.map { info in
            [
                info.name, info.paused ? "paused" : "running", info.concurrency.map(String.init) ?? "none",
                String(info.counts.pending), String(info.counts.running), String(info.counts.completed),
                String(info.counts.failed), String(info.counts.cancelled),
                age(info, now: now).map { String(format: "%.3fs", $0) } ?? "-",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension QueueCommand {
    /// `queue pause` and `queue resume`.
    static func setPaused(_ paused: Bool, queue: String, _ database: DatabaseOptions, _ initOption: InitOption) throws {
        try queueStore(database.openForWriting(creating: false, initOption))
            .setQueue(name: queue, paused: paused, concurrency: nil, now: Date())
        print("\(paused ? "paused" : "resumed") queue \(queue)")
    }
}

/// `smrt-jobs queue pause Q`.
struct QueuePauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Stop claiming the queue's jobs (running ones finish; enqueues still land).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The queue.") var queue: String

    func validate() throws { try QueueCommand.validateName(queue) }

    func run() throws { try QueueCommand.setPaused(true, queue: queue, database, initOption) }
}

/// `smrt-jobs queue resume Q`.
struct QueueResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Claim the queue's jobs again.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The queue.") var queue: String

    func validate() throws { try QueueCommand.validateName(queue) }

    func run() throws { try QueueCommand.setPaused(false, queue: queue, database, initOption) }
}

/// `smrt-jobs queue set Q --concurrency N|none`.
struct QueueSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set the queue's global concurrency limit (N ≥ 0, or none).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption
    @Argument(help: "The queue.") var queue: String

    @Option(help: ArgumentHelp(
        "At most N of the queue's jobs running at once across every supervisor (0 stops new starts); none: unlimited.",
        valueName: "N|none"))
    var concurrency: String

    /// The parsed `--concurrency`.
    static func parse(_ text: String) -> QueueConcurrency? {
        if text == "none" { return .unlimited }
        guard let n = Int(text), n >= 0, n <= Int(Int32.max) else { return nil }
        return .limit(n)
    }

    func validate() throws {
        try QueueCommand.validateName(queue)
        if Self.parse(concurrency) == nil {
            throw ValidationError("--concurrency must be a whole number ≥ 0 or 'none', not '\(concurrency)'")
        }
    }

    func run() throws {
        guard let limit = Self.parse(concurrency) else { throw ValidationError("bad --concurrency") }
        try QueueCommand.queueStore(database.openForWriting(creating: false, initOption))
            .setQueue(name: queue, paused: nil, concurrency: limit, now: Date())
        print("queue \(queue): concurrency \(limit.value.map(String.init) ?? "none")")
    }
}
