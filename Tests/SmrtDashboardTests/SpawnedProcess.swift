import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A program the test starts with posix_spawn, in a process group of its own, stdin from /dev/null and stdout and
/// stderr into files. Waits poll `waitpid` with deadlines (Foundation's `Process.waitUntilExit` hangs when a
/// child's own children outlive it: chromedriver's browser, the supervisor's workers). Whatever is still running
/// when the value goes away, the whole group included, is SIGKILLed and reaped.
final class SpawnedProcess: @unchecked Sendable {  // used from one test body at a time
    enum Exit: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        var description: String {
            switch self {
            case .exited(let code): return "exited with code \(code)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    /// What went wrong, with the outputs that say why.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let pid: pid_t
    let name: String
    let stdoutPath: String
    let stderrPath: String
    private(set) var exit: Exit?

    /// The build's products folder (`.build/<triple>/debug`), where the test runner is.
    static var productsFolder: URL {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        while folder.path.contains(".xctest") { folder.deleteLastPathComponent() }
        return folder
    }

    /// The package root, from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A built executable of this package, or an error saying to build it.
    static func product(_ name: String) throws -> String {
        let path = productsFolder.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure(description: "\(path) not found: run `swift build --build-tests` first")
        }
        return path
    }

    /// Starts `executable` with `arguments`; output goes to `<directory>/<name>.out` and `.err`. `environment`
    /// adds to (or, with a nil value, removes from) the test runner's.
    init(_ executable: String, _ arguments: [String], name: String, directory: String, environment: [String: String?] = [:]) throws {
        self.name = name
        stdoutPath = directory + "/\(name).out"
        stderrPath = directory + "/\(name).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default signal handling and an empty mask in the child, whatever the test runner has set up.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for variable in cEnvironment { free(variable) } }
        let cArguments: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, cArguments, cEnvironment)
        guard rc == 0 else {
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    deinit { kill(signal: SIGKILL) }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Both outputs, for failure messages.
    func outputs(lastLines: Int = 40) -> String {
        func tail(_ text: String) -> String { text.split(separator: "\n").suffix(lastLines).joined(separator: "\n") }
        return "--- \(name) stdout ---\n\(tail(stdout))\n--- \(name) stderr ---\n\(tail(stderr))"
    }

    /// The first line of stdout, once it is complete; throws when the process ends first or after `timeout` s.
    func firstLine(timeout: Double) throws -> String {
        try Self.eventually("\(name)'s first line of stdout", timeout: timeout, context: { self.outputs() }) {
            let text = stdout
            if let newline = text.firstIndex(of: "\n") { return String(text[..<newline]) }
            if let exit = reap() { throw Failure(description: "\(name) \(exit) before a line on stdout\n\(outputs())") }
            return nil
        }
    }

    var isRunning: Bool { reap() == nil }

    @discardableResult
    func waitForExit(timeout: Double) throws -> Exit {
        try Self.eventually("\(name) to exit", timeout: timeout, context: { self.outputs() }) { reap() }
    }

    /// SIGTERM, the exit within `timeout` s, and what is left of the group killed.
    @discardableResult
    func terminate(timeout: Double = 15) throws -> Exit {
        if let exit { return exit }
        Glibc.kill(pid, SIGTERM)
        let exit = try waitForExit(timeout: timeout)
        Glibc.kill(-pid, SIGKILL)
        return exit
    }

    /// `signal` to the process and its group; with SIGKILL, also reaps it.
    func kill(signal: Int32) {
        if exit == nil { Glibc.kill(pid, signal) }
        Glibc.kill(-pid, signal)
        if signal == SIGKILL && exit == nil {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            exit = .signaled(SIGKILL)
        }
    }

    private func reap() -> Exit? {
        if let exit { return exit }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        // WIFEXITED / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7F
        exit = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
        return exit
    }

    /// Polls `body` every 20 ms until it returns a value or `timeout` seconds pass; then throws, naming `what`.
    static func eventually<T>(_ what: String, timeout: Double, context: () -> String = { "" }, _ body: () throws -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let value = try body() { return value }
            if Date() > deadline {
                throw Failure(description: "timed out after \(timeout) s waiting for \(what)\n\(context())")
            }
            usleep(20_000)
        }
    }
}
