import Foundation
import SmrtJobs
import SmrtJobsSQLite

#if canImport(Glibc)
import Glibc
#endif

/// Polls `body` every 10 ms until it returns a value or `timeout` seconds pass; then throws, naming `what`.
func eventually<T>(
    _ what: @autoclosure () -> String, timeout: Double = 10, context: () -> String = { "" }, _ body: () throws -> T?
) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try body() { return value }
        if Date() > deadline {
            let extra = context()
            throw HarnessError(description: "timed out after \(timeout) s waiting for \(what())\(extra.isEmpty ? "" : "\n" + extra)")
        }
        usleep(10_000)
    }
}

/// Where a symbolic link (a `/proc/PID/fd/N` entry) points, or nil.
func linkTarget(_ path: String) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: path)
}

/// Whether `pid` is a live process (a zombie counts as dead).
func processIsAlive(_ pid: Int32) -> Bool {
    guard pid > 0 else { return false }
    if kill(pid, 0) != 0 && errno == ESRCH { return false }
    if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        if state == "Z" || state == "X" { return false }
    }
    return true
}

/// A queue database for one test, a store on it for the test to enqueue and inspect, and a temporary directory
/// for the test's other files (logs, ledgers).
protocol QueueTestDatabase: AnyObject {
    var directory: URL { get }
    /// What `--db` takes: a file path or a URL.
    var dbArgument: String { get }
    var queueStore: any JobStore & ScheduleStore { get }
}

extension QueueTestDatabase {
    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    func enqueue(
        _ method: String, _ args: [String: JSONValue] = [:], type: String = "Demo", maxAttempts: Int = 1,
        timeout: Int = 30_000, behavior: TimeoutBehavior = .fail, retry: RetryStrategy = .linear(delay: 0)
    ) throws -> Int64 {
        try queueStore.enqueue(
            JobSpec(
                objectType: type, method: method, args: args, maxAttempts: maxAttempts, timeout: timeout,
                timeoutBehavior: behavior, retryStrategy: retry),
            now: Date()
        ).id
    }

    func job(_ id: Int64) throws -> SmrtJob {
        guard let job = try queueStore.get(id: id) else { throw HarnessError(description: "job \(id) not found") }
        return job
    }

    /// Waits until the job reaches `status`.
    @discardableResult
    func waitFor(_ id: Int64, _ status: JobStatus, timeout: Double = 10, log: SupervisorProcess? = nil) throws -> SmrtJob {
        try eventually("job \(id) to be \(status.rawValue)", timeout: timeout, context: {
            let now = (try? self.queueStore.get(id: id)).flatMap { $0 }
            return "job now: \(now.map { "\($0.status) attempts=\($0.attempts) error=\($0.lastError ?? "-")" } ?? "missing")\n"
                + (log?.logTail() ?? "")
        }) {
            let job = try self.job(id)
            return job.status == status ? job : nil
        }
    }
}

/// A temporary directory with a SQLite job database.
final class TestDatabase: QueueTestDatabase {
    let directory: URL
    let path: String
    let store: SQLiteJobStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smrt-it-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("jobs.sqlite").path
        store = try SQLiteJobStore(path: path)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    var dbArgument: String { path }
    var queueStore: any JobStore & ScheduleStore { store }
}

/// The real `smrt-supervisor` binary, started on a test database with JSON logs captured to a file.
/// Every wait has a deadline; the process is SIGKILLed in `deinit` if it is still running.
final class SupervisorProcess {
    typealias Event = [String: Any]

    let pid: pid_t
    let logPath: String
    private(set) var exit: ChildExit?

    static var binaryPath: String {
        ProcessInfo.processInfo.environment["SMRT_SUPERVISOR"]
            ?? WorkerHarness.productsFolder.appendingPathComponent("smrt-supervisor").path
    }

    /// For tests that need jobs claimed ahead (`--prefetch`) or queued behind a running one (`--pipeline`): every
    /// attempt under 10 s counts as short. By default only one under 50 ms does, which a quick job on a loaded machine
    /// can miss, and then nothing is claimed ahead or queued.
    static let everyJobShort = ["--short-job-threshold", "10000"]

    /// Starts `smrt-supervisor --db <db> --workers N --worker-exec <demo worker> --log-format json` plus `arguments`.
    convenience init(
        database: some QueueTestDatabase, workers: Int = 2, workerExec: String? = nil, arguments: [String] = [],
        logName: String = "supervisor.log", environment: [String]? = nil, openFiles: [Int32: String] = [:]
    ) throws {
        try self.init(
            executable: Self.binaryPath,
            arguments: [
                "--db", database.dbArgument, "--workers", String(workers),
                "--worker-exec", workerExec ?? WorkerHarness.demoWorkerPath, "--log-format", "json",
            ] + arguments,
            logPath: database.file(logName), environment: environment, openFiles: openFiles)
    }

    /// Starts `executable` with `arguments`, stdin and stdout on /dev/null, stderr into `logPath` (opened for
    /// writing: a FIFO works too). `environment`: `KEY=value` strings instead of the test runner's environment.
    /// `openFiles`: more descriptors the process starts with (fd → a path opened read-only, not close-on-exec),
    /// as a parent that leaks descriptors would leave them.
    init(
        executable binary: String, arguments: [String], logPath: String, environment: [String]? = nil,
        openFiles: [Int32: String] = [:]
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw HarnessError(description: "\(binary) not found: run `swift build --build-tests` first")
        }
        self.logPath = logPath
        let argv = [binary] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        for (fd, path) in openFiles.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_addopen(&actions, fd, path, O_RDONLY, 0)
        }
        // Default signal handling in the child, whatever the test runner has set up.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = (environment ?? []).map { strdup($0) } + [nil]
        defer { for variable in cEnvironment { free(variable) } }
        var child: pid_t = 0
        let rc = environment == nil
            ? posix_spawn(&child, binary, &actions, &attributes, &cArgs, environ)
            : posix_spawn(&child, binary, &actions, &attributes, &cArgs, &cEnvironment)
        guard rc == 0 else { throw HarnessError(description: "posix_spawn \(binary): \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit {
        if exit == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    // MARK: Log

    var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func logTail(_ lines: Int = 40) -> String {
        "--- supervisor log (last \(lines) lines) ---\n" + logText.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Every JSON log line so far.
    func events() -> [Event] {
        logText.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? Event
        }
    }

    func events(_ name: String, where predicate: (Event) -> Bool = { _ in true }) -> [Event] {
        events().filter { ($0["event"] as? String) == name && predicate($0) }
    }

    /// Waits for the first event `name` matching `predicate`.
    @discardableResult
    func waitFor(_ name: String, timeout: Double = 10, where predicate: @escaping (Event) -> Bool = { _ in true }) throws -> Event {
        try waitFor(name, count: 1, timeout: timeout, where: predicate)[0]
    }

    /// Waits until `count` events `name` matching `predicate` have been logged.
    @discardableResult
    func waitFor(
        _ name: String, count: Int, timeout: Double = 10, where predicate: @escaping (Event) -> Bool = { _ in true }
    ) throws -> [Event] {
        try eventually("\(count) '\(name)' log event(s)", timeout: timeout, context: { self.logTail() }) {
            let found = events(name, where: predicate)
            return found.count >= count ? found : nil
        }
    }

    /// Worker pids that the log shows ready and not exited, and that are alive.
    func liveWorkerPids() -> Set<Int32> {
        let all = events()
        let ready = Set(all.filter { $0["event"] as? String == "worker_ready" }.compactMap { ($0["worker_pid"] as? Int).map(Int32.init) })
        let exited = Set(all.filter { $0["event"] as? String == "worker_exited" }.compactMap { ($0["worker_pid"] as? Int).map(Int32.init) })
        return ready.subtracting(exited).filter(processIsAlive)
    }

    /// Waits until exactly `count` workers are ready and alive; returns their pids.
    @discardableResult
    func waitForWorkers(_ count: Int, timeout: Double = 10) throws -> Set<Int32> {
        try eventually("\(count) live workers", timeout: timeout, context: { "live now: \(self.liveWorkerPids())\n" + self.logTail() }) {
            let pids = liveWorkerPids()
            return pids.count == count ? pids : nil
        }
    }

    // MARK: Process

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    var isRunning: Bool { reap() == nil }

    @discardableResult
    func waitForExit(timeout: Double = 10) throws -> ChildExit {
        try eventually("smrt-supervisor \(pid) to exit", timeout: timeout, context: { self.logTail() }) { reap() }
    }

    private func reap() -> ChildExit? {
        if let exit { return exit }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return nil }
        // WIFEXITED / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7F
        exit = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
        return exit
    }
}
