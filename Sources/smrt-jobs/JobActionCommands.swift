import ArgumentParser
import Foundation
import SmrtJobs

/// `smrt-jobs retry ID`.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put a job back to pending now, with its attempts reset (any status but completed).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Argument(help: "The job id.")
    var id: Int64

    @Flag(help: "Print the updated job as JSON.")
    var json = false

    @OptionGroup var reveal: RevealOption

    func run() throws {
        let store = try database.openForWriting(creating: false, initOption)
        let job = try store.retry(id: id)
        print(json ? try Output.json(job, reveal: reveal.reveal).jsonText : "job \(id) is pending again (attempts reset)")
    }
}

/// `smrt-jobs cancel ID`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a pending, running or failed job.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var initOption: InitOption

    @Argument(help: "The job id.")
    var id: Int64

    @Flag(help: "Print the updated job as JSON.")
    var json = false

    @OptionGroup var reveal: RevealOption

    func run() throws {
        let store = try database.openForWriting(creating: false, initOption)
        let job = try store.cancel(id: id)
        print(json ? try Output.json(job, reveal: reveal.reveal).jsonText : "job \(id) cancelled")
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
