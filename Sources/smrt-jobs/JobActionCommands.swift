import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs retry ID`, or `smrt-jobs retry --status S [--queue Q] [--type T] [--since D] [--dry-run]`.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put a job (or every job matching --status and filters) back to pending now, attempts reset.",
        discussion: """
            With an id: that job (any status but completed). With --status instead: every job in that status \
            (failed, cancelled, pending or running) matching the filters, 1,000 per transaction, and prints how many. \
            A job whose unique key another pending or running job holds is skipped (and counted as skipped).
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Argument(help: "The job id (or give --status).")
    var id: Int64?

    @OptionGroup var bulk: BulkOptions

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Only jobs finished (or, never finished, changed) at or after D: an age (1h, 7d) or an ISO-8601 time.",
            valueName: "D"))
    var since: String?

    @Flag(help: "Print the updated job (bulk: the counts) as JSON.")
    var json = false

    @OptionGroup var reveal: RevealOption

    func validate() throws {
        try bulk.validate(id: id, extra: since.map { _ in "--since" }, allowed: [.failed, .cancelled, .pending, .running],
                          action: "retried")
    }

    func run() throws {
        let store = try database.openForWriting(creating: false, initOption)
        guard let id else {
            let now = Date()
            var filter = try bulk.filter()
            filter.since = try since.map { text in
                do {
                    return try TimeParser.cutoff(text, now: now, field: "--since")
                } catch let error as SmrtJobsError {
                    throw CLIError(error.description, exitCode: 2)
                }
            }
            try bulk.run(filter, verb: ("retried", "retry"), json: json) { filter, limit, dryRun in
                try store.retryJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
            }
            return
        }
        let job = try store.retry(id: id)
        print(json ? try Output.json(job, reveal: reveal.reveal).jsonText : "job \(id) is pending again (attempts reset)")
    }
}

/// `smrt-jobs cancel ID`, or `smrt-jobs cancel --status S [--queue Q] [--type T] [--dry-run]`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a pending, running or failed job (or every job matching --status and filters).",
        discussion: """
            With --status instead of an id: every job in that status (pending, running or failed) matching the \
            filters, 1,000 per transaction, and prints how many.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Argument(help: "The job id (or give --status).")
    var id: Int64?

    @OptionGroup var bulk: BulkOptions

    @Flag(help: "Print the updated job (bulk: the counts) as JSON.")
    var json = false

    @OptionGroup var reveal: RevealOption

    func validate() throws {
        try bulk.validate(id: id, extra: nil, allowed: [.pending, .running, .failed], action: "cancelled")
    }

    func run() throws {
        let store = try database.openForWriting(creating: false, initOption)
        guard let id else {
            let now = Date()
            try bulk.run(try bulk.filter(), verb: ("cancelled", "cancel"), json: json) { filter, limit, dryRun in
                try store.cancelJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
            }
            return
        }
        let job = try store.cancel(id: id)
        print(json ? try Output.json(job, reveal: reveal.reveal).jsonText : "job \(id) cancelled")
    }
}

/// The filters of bulk `retry` and `cancel`, and their batch loop.
struct BulkOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Act on every job in this status (instead of one id).", valueName: "status"))
    var status: String?

    @Option(help: ArgumentHelp("Only jobs of this queue.", valueName: "queue"))
    var queue: String?

    @Option(
        help: ArgumentHelp("Only jobs of this type: ObjectType, or ObjectType.method (split at the last dot).",
                           valueName: "type"))
    var type: String?

    @Flag(help: "Only count the jobs that would be changed.")
    var dryRun = false

    /// Jobs per transaction.
    static let batchSize = 1_000

    /// An id or --status, not both; filters only with --status; a status the action takes.
    func validate(id: Int64?, extra: String?, allowed: [JobStatus], action: String) throws {
        let filters = [queue.map { _ in "--queue" }, type.map { _ in "--type" }, extra, dryRun ? "--dry-run" : nil]
            .compactMap { $0 }
        if id != nil {
            if status != nil { throw ValidationError("give a job id or --status, not both") }
            if let first = filters.first { throw ValidationError("\(first) needs --status (it filters the jobs of a bulk action)") }
            return
        }
        guard let status else {
            throw ValidationError("missing <id> (or --status STATUS to act on every matching job)")
        }
        guard let parsed = JobStatus(rawValue: status.lowercased()) else {
            throw ValidationError(
                "invalid --status '\(status)': expected \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        guard allowed.contains(parsed) else {
            throw ValidationError(
                "invalid --status '\(status)': \(parsed.rawValue) jobs cannot be \(action) "
                    + "(expected \(allowed.map(\.rawValue).joined(separator: ", ")))")
        }
        if queue?.isEmpty == true { throw ValidationError("invalid --queue '': must not be empty") }
        if let type, type.isEmpty || type.hasPrefix(".") || type.hasSuffix(".") {
            throw ValidationError("invalid --type '\(type)': expected ObjectType or ObjectType.method")
        }
    }

    /// The filter the options name (after `validate`).
    func filter() throws -> JobFilter {
        guard let status, let parsed = JobStatus(rawValue: status.lowercased()) else {
            throw CLIError("missing --status", exitCode: 2)
        }
        var filter = JobFilter(statuses: [parsed], queue: queue)
        if let type {
            if let dot = type.lastIndex(of: ".") {
                filter.objectType = String(type[..<dot])
                filter.method = String(type[type.index(after: dot)...])
            } else {
                filter.objectType = type
            }
        }
        return filter
    }

    /// Runs `batch` on batches of `batchSize` jobs (each its own transaction) until none are left, then prints
    /// `retried 2500 jobs` / `would retry 2500 jobs` (or JSON).
    func run(
        _ filter: JobFilter, verb: (done: String, would: String), json: Bool,
        _ batch: (_ filter: JobFilter, _ limit: Int, _ dryRun: Bool) throws -> BulkActionResult
    ) throws {
        var filter = filter
        var count = 0
        var skipped = 0
        while true {
            let result = try batch(filter, Self.batchSize, dryRun)
            count += result.ids.count
            skipped += result.skipped.count
            guard let last = result.lastId else { break }
            filter.afterId = last
        }
        if json {
            let object: JSONValue = [
                "action": .string(verb.would), "dryRun": .bool(dryRun), "count": .int(Int64(count)),
                "skipped": .int(Int64(skipped)),
            ]
            print(object.jsonText)
            return
        }
        var line = dryRun ? "would \(verb.would) \(Output.plural(count, "job"))" : "\(verb.done) \(Output.plural(count, "job"))"
        if skipped > 0 {
            line += " (\(dryRun ? "would skip" : "skipped") \(skipped): unique key held by another pending or running job)"
        }
        print(line)
    }
}

/// `smrt-jobs wait ID [--timeout MS]`: exit 0 completed, 1 failed or cancelled, 3 timed out.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until a job is completed, failed or cancelled, and print how it ended.",
        discussion: "Exit status: 0 completed, 1 failed or cancelled (or unknown job), 3 timed out. " + RevealOption.discussion)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The job id.")
    var id: Int64

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Give up after this long: milliseconds, or 30s, 5m (default: wait indefinitely).",
                           valueName: "ms"))
    var timeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "How often to read the job when no change signal wakes the wait sooner, in milliseconds.", valueName: "ms"))
    var pollInterval: String = "1000"

    @Flag(help: "Print the outcome as JSON: id, status, success, result, resultPointer, error.")
    var json = false

    @OptionGroup var reveal: RevealOption

    /// Long enough to mean "no timeout", short enough for clock arithmetic and the timeout message.
    static let indefinitely = 10 * 365 * 86_400_000

    func run() async throws {
        let timeoutMs = try timeout.map { try DelayParser.milliseconds($0, field: "timeout") } ?? Self.indefinitely
        let pollMs = try DelayParser.milliseconds(pollInterval, field: "poll-interval")
        guard pollMs > 0 else {
            throw SmrtJobsError.invalidValue(field: "poll-interval", value: pollInterval, reason: "must be positive")
        }
        let queue = try await database.openQueueForReading()
        let waited: Result<JobOutcome, Error>
        do {
            waited = .success(
                try await queue.handle(id: id).wait(timeout: .milliseconds(timeoutMs), pollInterval: .milliseconds(pollMs)))
        } catch {
            waited = .failure(error)
        }
        await queue.close()
        let outcome: JobOutcome
        do {
            outcome = try waited.get()
        } catch let error as SmrtJobsError {
            if case .waitTimeout = error { throw CLIError(error.description, exitCode: 3) }
            throw error
        }
        if json {
            let object: JSONValue = [
                "id": .int(id), "status": .string(outcome.status.rawValue), "success": .bool(outcome.success),
                "result": outcome.result.map { Output.redacted($0, reveal: reveal.reveal) } ?? .null,
                "resultPointer": outcome.resultPointer.map(JSONValue.string) ?? .null,
                "error": Output.redacted(outcome.error, reveal: reveal.reveal).map(JSONValue.string) ?? .null,
            ]
            print(object.jsonText)
        } else {
            var lines = [
                "job \(id) \(outcome.status.rawValue)" + (Output.redacted(outcome.error, reveal: reveal.reveal).map { ": \($0)" } ?? "")
            ]
            if let result = outcome.result { lines.append("result: \(Output.redacted(result, reveal: reveal.reveal).jsonText)") }
            if let pointer = outcome.resultPointer { lines.append("resultPointer: \(pointer)") }
            print(lines.joined(separator: "\n"))
        }
        if !outcome.success { throw ExitCode(1) }
    }
}
