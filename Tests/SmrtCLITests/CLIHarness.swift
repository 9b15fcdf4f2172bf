import Foundation
import SmrtJobs
import SmrtJobsSQLite
import Testing

/// What one run of the `smrt-jobs` binary did.
struct CLIResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Ended by a signal (a Swift trap, or killed at the deadline).
    var crashed: Bool

    /// Non-empty stdout lines.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    var description: String { "exit \(status)\(crashed ? " (signal)" : "")\nstdout: \(stdout)\nstderr: \(stderr)" }
}

struct CLIHarnessError: Error, CustomStringConvertible {
    var description: String
}

/// Runs the real built `smrt-jobs` binary.
enum CLI {
    /// The build's products folder (`.build/<triple>/debug`), where the test runner lives too.
    static var productsFolder: URL {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        // On macOS the runner sits inside the .xctest bundle.
        while folder.path.contains(".xctest") { folder.deleteLastPathComponent() }
        return folder
    }

    /// The built `smrt-jobs` (override with SMRT_JOBS_BIN).
    static var binary: String {
        ProcessInfo.processInfo.environment["SMRT_JOBS_BIN"]
            ?? productsFolder.appendingPathComponent("smrt-jobs").path
    }

    /// Runs `smrt-jobs args...` with `SMRT_DB` removed from the environment (then `env` added), stdin from
    /// `stdin` (else /dev/null), and kills it after `deadline` seconds.
    static func run(
        _ args: [String], env: [String: String] = [:], stdin: String? = nil, cwd: URL? = nil,
        deadline: TimeInterval = 30, binary: String = CLI.binary
    ) throws -> CLIResult {
        try start(args, env: env, stdin: stdin, cwd: cwd, binary: binary).finish(deadline: deadline)
    }

    /// Starts the binary and returns at once, so a test can change the database while the command runs
    /// (no thread is blocked meanwhile). Call `finish` for the result.
    static func start(
        _ args: [String], env: [String: String] = [:], stdin: String? = nil, cwd: URL? = nil,
        binary: String = CLI.binary
    ) throws -> RunningCLI {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CLIHarnessError(description: "\(binary) not found: run `swift build --build-tests` first")
        }
        return try RunningCLI(binary: binary, args: args, env: env, stdin: stdin, cwd: cwd)
    }
}

/// A started `smrt-jobs` process. Output goes to files, not pipes, so output of any size cannot block it.
final class RunningCLI {
    let args: [String]
    private let process = Process()
    private let scratch: URL
    private let finished = DispatchSemaphore(value: 0)
    private var handles: [FileHandle] = []

    init(binary: String, args: [String], env: [String: String], stdin: String?, cwd: URL?) throws {
        self.args = args
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-cli-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        handles = [out, err]

        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SMRT_DB")
        environment.merge(env) { _, new in new }
        process.environment = environment
        if let cwd { process.currentDirectoryURL = cwd }
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let inURL = scratch.appendingPathComponent("stdin")
            try Data(stdin.utf8).write(to: inURL)
            let input = try FileHandle(forReadingFrom: inURL)
            handles.append(input)
            process.standardInput = input
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let finished = self.finished
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for handle in handles { try? handle.close() }
        try? FileManager.default.removeItem(at: scratch)
    }

    private var outURL: URL { scratch.appendingPathComponent("stdout") }
    private var errURL: URL { scratch.appendingPathComponent("stderr") }

    /// Waits for the exit (killing the process after `deadline` seconds) and collects the output.
    /// Waits (up to `deadline`) until the process has `path` open, e.g. a `wait` command polling the database.
    func waitUntilOpened(_ path: String, deadline: TimeInterval = 20) -> Bool {
        let fdDirectory = "/proc/\(process.processIdentifier)/fd"
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let end = Date().addingTimeInterval(deadline)
        while Date() < end && process.isRunning {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []
            if fds.contains(where: { (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\($0)")) == target }) {
                return true
            }
            Thread.sleep(forTimeInterval: 0.01)  // poll interval of the condition above
        }
        return false
    }

    func finish(deadline: TimeInterval = 30) throws -> CLIResult {
        if finished.wait(timeout: .now() + deadline) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            throw CLIHarnessError(description: "smrt-jobs \(args) still running after \(deadline) s: killed")
        }
        return CLIResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
            crashed: process.terminationReason == .uncaughtSignal)
    }
}

/// A temporary directory with a database path in it; each test makes its own.
final class Sandbox {
    let directory: URL
    /// The database file (not created until a command or `store()` creates it).
    let dbPath: String

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("smrt-cli-test-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        dbPath = directory.appendingPathComponent("jobs.sqlite").path
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// `smrt-jobs args... --db <dbPath>`.
    func run(_ args: [String], stdin: String? = nil, deadline: TimeInterval = 30) throws -> CLIResult {
        try CLI.run(args + ["--db", dbPath], stdin: stdin, deadline: deadline)
    }

    func run(_ args: String...) throws -> CLIResult { try run(args) }

    var dbExists: Bool { FileManager.default.fileExists(atPath: dbPath) }

    /// Opens the database the commands use (creating it if needed).
    func store() throws -> SQLiteJobStore { try SQLiteJobStore(path: dbPath) }

    /// Jobs in the database, without creating it.
    func jobCount() throws -> Int {
        guard dbExists else { return 0 }
        let stats = try store().stats(queue: nil)
        return stats.pending + stats.running + stats.completed + stats.failed + stats.cancelled
    }

    /// Enqueues through the CLI and returns the printed id.
    func enqueue(_ args: String...) throws -> Int64 {
        let result = try run(["enqueue"] + args)
        guard result.status == 0, let id = Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLIHarnessError(description: "enqueue \(args) failed: \(result)")
        }
        return id
    }

    func file(_ name: String, _ contents: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }
}

/// Expectations shared by the error tests.
func expectFailure(
    _ result: CLIResult, status: Int32 = 1, mentioning fragments: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(!result.crashed, "crashed: \(result)", sourceLocation: sourceLocation)
    #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("smrt-jobs: error: "), "\(result)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(result.stderr.contains(fragment), "expected '\(fragment)' in: \(result.stderr)", sourceLocation: sourceLocation)
    }
    #expect(!result.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    #expect(!result.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
}

/// Parses JSON text printed by the CLI.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// `2026-11-29T10:05:00.123Z`, as `Timestamp.format` writes.
func isStoredTimestamp(_ value: Any?) -> Bool {
    guard let text = value as? String else { return false }
    return text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
}
