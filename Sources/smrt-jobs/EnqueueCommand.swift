import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs enqueue OBJECT_TYPE METHOD [options]` or `smrt-jobs enqueue --batch FILE.jsonl`.
struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue a job and print its id, or enqueue a JSON Lines file of jobs in one transaction.",
        discussion: """
            Every value is checked before the database is opened: a bad value writes nothing.
            With --batch, each non-blank line is a JSON object with the keys objectType, method, objectId, args, \
            queue, priority, delay, runAt, retries, timeout, timeoutBehavior, uniqueKey and uniqueWindow (priority a \
            name or a number, delay, timeout and uniqueWindow a number of milliseconds or text such as "5m"). All jobs are inserted in one transaction; \
            a bad line rejects the whole file, naming the line, and nothing is written. `--batch -` reads stdin. \
            The ids are printed one per line, in file order.
            With a unique key (--unique-key, or uniqueKey in a batch line), a job whose key a pending or running job \
            holds (or, with --unique-window, one that finished within that long) is not added again: its id is \
            printed, stderr says "existing", and the exit status is 0. A key given twice in a batch gives the first \
            one's id at both positions.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Argument(help: ArgumentHelp("The registered type the job runs on, e.g. Document.", valueName: "object-type"))
    var objectType: String?

    @Argument(help: ArgumentHelp("The method to call, e.g. generateSummary.", valueName: "method"))
    var method: String?

    @Option(help: ArgumentHelp("The id of the object to load (default: none, a static job).", valueName: "id"))
    var objectId: String?

    @Option(help: ArgumentHelp("Arguments as a JSON object, e.g. '{\"format\":\"md\"}'.", valueName: "json"))
    var args: String?

    @Option(help: ArgumentHelp("The queue (default: default).", valueName: "queue"))
    var queue: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("critical, high, normal, low or an integer; higher runs sooner (default: normal = 50).",
                           valueName: "priority"))
    var priority: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Run no sooner than this from now: milliseconds, or 500ms, 30s, 5m, 2h, 1d.", valueName: "delay"))
    var delay: String?

    @Option(help: ArgumentHelp("Run at (or after) this ISO-8601 time, e.g. 2026-11-29T10:05:00Z.", valueName: "time"))
    var runAt: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Attempts in all, 1-25; 0 is taken as 1: run once, never retry (default: 3).", valueName: "n"))
    var retries: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Per-attempt timeout in milliseconds (or 30s, 10m; default: 300000).", valueName: "ms"))
    var timeout: String?

    @Option(help: ArgumentHelp("fail, kill or warn (default: fail).", valueName: "behavior"))
    var timeoutBehavior: String?

    @Option(
        help: ArgumentHelp(
            "At most one pending or running job with this key: if one exists, print its id instead (at most 255 bytes).",
            valueName: "key"))
    var uniqueKey: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "With --unique-key: a job with the key that finished within this long also counts (ms, or 30s, 1h, 1d).",
            valueName: "window"))
    var uniqueWindow: String?

    @Option(help: ArgumentHelp("Enqueue every job of a JSON Lines file ('-' for stdin).", valueName: "file.jsonl"))
    var batch: String?

    private var hasJobOptions: Bool {
        objectId != nil || args != nil || queue != nil || priority != nil || delay != nil || runAt != nil
            || retries != nil || timeout != nil || timeoutBehavior != nil || uniqueKey != nil || uniqueWindow != nil
    }

    func validate() throws {
        if batch != nil {
            if objectType != nil || method != nil || hasJobOptions {
                throw ValidationError(
                    "--batch takes every job from the file; do not also give <object-type>, <method> or job options")
            }
        } else if objectType == nil || method == nil {
            throw ValidationError("missing <object-type> and <method> (or --batch FILE)")
        } else if uniqueWindow != nil && uniqueKey == nil {
            throw ValidationError("--unique-window needs --unique-key")
        }
    }

    func run() throws {
        let now = Date()
        if let batch {
            let specs = try BatchFile.read(batch, now: now)
            if specs.isEmpty { return }
            let jobs = try database.openForWriting(creating: true, initOption).enqueueReportingExisting(batch: specs, now: now)
            print(jobs.map { String($0.id) }.joined(separator: "\n"))
            for (index, job) in jobs.enumerated() where job.existing {
                Self.reportExisting(job.id, key: specs[index].uniqueKey, position: "job \(index + 1) of the batch: ")
            }
            return
        }
        let spec = try JobSpec(jsonObject: try jsonObject(), now: now)
        let (job, existing) = try database.openForWriting(creating: true, initOption).enqueueReportingExisting(spec, now: now)
        print(job.id)
        if existing { Self.reportExisting(job.id, key: spec.uniqueKey, position: "") }
    }

    /// `existing: job 42 holds unique key 'K' (nothing added)` on stderr.
    private static func reportExisting(_ id: Int64, key: String?, position: String) {
        let line = "existing: \(position)job \(id) holds unique key '\(key ?? "")' (nothing added)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The options as the JSON object a batch line would hold, so both paths share one parser.
    private func jsonObject() throws -> [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        object["objectType"] = objectType.map(JSONValue.string)
        object["method"] = method.map(JSONValue.string)
        object["objectId"] = objectId.map(JSONValue.string)
        if let args { object["args"] = .object(try JSONValue.parseObject(args, what: "--args")) }
        object["queue"] = queue.map(JSONValue.string)
        object["priority"] = priority.map(JSONValue.string)
        object["delay"] = delay.map(JSONValue.string)
        object["runAt"] = runAt.map(JSONValue.string)
        object["retries"] = retries.map { .int(Int64($0)) }
        object["timeout"] = timeout.map(JSONValue.string)
        object["timeoutBehavior"] = timeoutBehavior.map(JSONValue.string)
        object["uniqueKey"] = uniqueKey.map(JSONValue.string)
        object["uniqueWindow"] = uniqueWindow.map(JSONValue.string)
        return object
    }
}
