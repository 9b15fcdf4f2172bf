import Foundation
import SmrtProtocol

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended, as waitpid(2) reports it.
enum ChildExit: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// Runs a worker program the way the supervisor does: its end of a socketpair on fd 3, stdout and stderr
/// captured, stdin from /dev/null. Tests then talk the protocol over `send` / `receive`.
///
/// Every wait has a deadline; waits are poll(2) calls on the socket and pipes, never bare sleeps. Whatever
/// the child writes to stdout/stderr is collected while waiting, so a chatty child never blocks on a full
/// pipe. A child still running when the harness goes away is SIGKILLed and reaped.
final class WorkerHarness {
    enum Stream { case stdout, stderr }

    let pid: pid_t
    /// Our end of the socketpair; -1 after `closeChannel()`.
    private(set) var channel: Int32
    private var stdoutPipe: Int32
    private var stderrPipe: Int32
    private var decoder = FrameDecoder()
    private var channelAtEOF = false
    private(set) var stdoutBytes: [UInt8] = []
    private(set) var stderrBytes: [UInt8] = []
    private(set) var exit: ChildExit?

    var stdoutText: String { String(decoding: stdoutBytes, as: UTF8.self) }
    var stderrText: String { String(decoding: stderrBytes, as: UTF8.self) }

    // MARK: Locating programs

    /// The package root, found from this source file's location.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The build's products folder (`.build/<triple>/debug`): the test runner lives there too.
    static var productsFolder: URL {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        // On macOS the runner sits inside the .xctest bundle.
        while folder.path.contains(".xctest") { folder.deleteLastPathComponent() }
        return folder
    }

    /// The built `smrt-demo-worker` (override with SMRT_DEMO_WORKER).
    static var demoWorkerPath: String {
        ProcessInfo.processInfo.environment["SMRT_DEMO_WORKER"]
            ?? productsFolder.appendingPathComponent("smrt-demo-worker").path
    }

    static var pythonWorkerPath: String {
        packageRoot.appendingPathComponent("examples/python-worker/worker.py").path
    }

    /// The demo worker, started with `arguments`.
    static func demoWorker(arguments: [String] = []) throws -> WorkerHarness {
        let path = demoWorkerPath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError(description: "\(path) not found: run `swift build --build-tests` first")
        }
        return try WorkerHarness(executable: path, arguments: arguments)
    }

    /// Tests/python/scripted_worker.py, a worker that ends its work in a scripted way (see the script).
    static var scriptedWorkerPath: String {
        packageRoot.appendingPathComponent("Tests/python/scripted_worker.py").path
    }

    /// examples/python-worker/worker.py under python3, started.
    static func pythonWorker() throws -> WorkerHarness {
        try WorkerHarness(executable: "python3", arguments: [pythonWorkerPath], searchPath: true)
    }

    // MARK: Spawning

    /// Spawns `executable` with `arguments`; `searchPath` looks the name up in PATH.
    init(executable: String, arguments: [String] = [], searchPath: Bool = false) throws {
        // stdout and stderr are socketpairs too (as libuv makes them): unlike pipe(), socketpair() can be
        // close-on-exec from birth, so a child spawned by a concurrent test never inherits them.
        func makePair() throws -> [Int32] {
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw HarnessError.errno("socketpair")
            }
            return pair
        }
        let pair = try makePair(), out = try makePair(), err = try makePair()
        // Every descriptor is close-on-exec (so concurrently spawned children never inherit each other's), and
        // moved above 9 so no dup2 below can overwrite a source before it is used.
        let parentSocket = Self.moveHigh(pair[0]), childSocket = Self.moveHigh(pair[1])
        let stdoutRead = Self.moveHigh(out[0]), stdoutWrite = Self.moveHigh(out[1])
        let stderrRead = Self.moveHigh(err[0]), stderrWrite = Self.moveHigh(err[1])
        defer {
            close(childSocket)
            close(stdoutWrite)
            close(stderrWrite)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutWrite, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrWrite, 2)
        posix_spawn_file_actions_adddup2(&actions, childSocket, WireFormat.workerFD)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = searchPath
            ? posix_spawnp(&child, executable, &actions, nil, argv, environ)
            : posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard status == 0 else {
            [parentSocket, stdoutRead, stderrRead].forEach { close($0) }
            throw HarnessError(description: "posix_spawn \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
        channel = parentSocket
        stdoutPipe = stdoutRead
        stderrPipe = stderrRead
        for fd in [parentSocket, stdoutRead, stderrRead] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit {
        if exit == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
        for fd in [channel, stdoutPipe, stderrPipe] where fd >= 0 { close(fd) }
    }

    private static func moveHigh(_ fd: Int32) -> Int32 {
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        close(fd)
        return moved
    }

    // MARK: Talking

    /// Sends one frame (or any raw bytes, for malformed-input tests).
    func send(_ message: WorkerMessage) throws {
        try sendRaw(message.encodeFrame())
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        guard channel >= 0 else { throw HarnessError(description: "channel already closed") }
        var offset = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while offset < bytes.count {
            // MSG_NOSIGNAL: a dead child must give EPIPE here, not kill the test runner with SIGPIPE.
            let n = bytes.withUnsafeBytes {
                Glibc.send(channel, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                guard ContinuousClock.now < deadline else { throw HarnessError(description: "send timed out") }
                pump(forAtMost: .milliseconds(5))
            } else {
                throw HarnessError.errno("send")
            }
        }
    }

    /// The next message from the worker, waiting at most `timeout`.
    func receive(timeout: Duration = .seconds(10)) throws -> WorkerMessage {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let message = try decoder.next() { return message }
            if channelAtEOF {
                throw HarnessError(description: "worker closed fd 3 (\(reapIfExited()?.description ?? "still running")); stderr: \(stderrText)")
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError(description: "no message from the worker within \(timeout); stderr: \(stderrText)")
            }
            pump(forAtMost: deadline - ContinuousClock.now)
        }
    }

    /// Receives HELLO and checks the version and pid; returns the served types.
    func receiveHello(timeout: Duration = .seconds(10)) throws -> [String] {
        let message = try receive(timeout: timeout)
        guard case .hello(let version, let helloPid, let types) = message else {
            throw HarnessError(description: "expected HELLO, got \(message)")
        }
        guard WireFormat.supportedVersions.contains(version), helloPid == pid else {
            throw HarnessError(description: "HELLO with version \(version), pid \(helloPid) (child is \(pid))")
        }
        return types
    }

    /// Sends RUN and waits for the job's RESULT_OK / RESULT_ERROR (PROGRESS messages are collected).
    func run(_ request: RunRequest, timeout: Duration = .seconds(10)) throws -> (result: WorkerMessage, progress: [String]) {
        try send(.run(request))
        var progress: [String] = []
        var started = false
        while true {
            let message = try receive(timeout: timeout)
            switch message {
            // A worker of protocol 4 says STARTED first.
            case .started(let jobId) where jobId == request.jobId && !started && progress.isEmpty: started = true
            case .progress(let jobId, let json) where jobId == request.jobId: progress.append(json)
            case .resultOK(let jobId, _) where jobId == request.jobId: return (message, progress)
            case .resultError(let jobId, _, _) where jobId == request.jobId: return (message, progress)
            default: throw HarnessError(description: "unexpected \(message) while running job \(request.jobId)")
            }
        }
    }

    /// Closes our end of the socketpair: the worker sees EOF on fd 3.
    func closeChannel() {
        if channel >= 0 { close(channel) }
        channel = -1
    }

    // MARK: Waiting

    /// Waits until the child has exited, at most `timeout`.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(10)) throws -> ChildExit {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let exit = reapIfExited() {
                drainOutput()
                return exit
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError(description: "worker \(pid) still running after \(timeout); stderr: \(stderrText)")
            }
            // No pidfd in Swift's Glibc module: poll the pipes briefly, then check waitpid again.
            pump(forAtMost: min(.milliseconds(5), deadline - ContinuousClock.now))
        }
    }

    /// Waits until `stream` contains `text`, at most `timeout`.
    func waitForOutput(_ text: String, on stream: Stream, timeout: Duration = .seconds(10)) throws {
        let deadline = ContinuousClock.now + timeout
        while !(stream == .stdout ? stdoutText : stderrText).contains(text) {
            guard ContinuousClock.now < deadline else {
                throw HarnessError(description: "'\(text)' not on \(stream) within \(timeout); stdout: \(stdoutText); stderr: \(stderrText)")
            }
            pump(forAtMost: deadline - ContinuousClock.now)
        }
    }

    /// Whether the child is still running (reaps it if not).
    var isRunning: Bool { reapIfExited() == nil }

    private func reapIfExited() -> ChildExit? {
        if let exit { return exit }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        // The wait status layout (WIFEXITED & co. are macros Swift cannot import).
        let signal = status & 0x7F
        exit = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
        return exit
    }

    /// Waits up to `timeout` for any readable descriptor, then reads everything available.
    private func pump(forAtMost timeout: Duration) {
        var fds: [pollfd] = []
        if channel >= 0 && !channelAtEOF { fds.append(pollfd(fd: channel, events: Int16(POLLIN), revents: 0)) }
        if stdoutPipe >= 0 { fds.append(pollfd(fd: stdoutPipe, events: Int16(POLLIN), revents: 0)) }
        if stderrPipe >= 0 { fds.append(pollfd(fd: stderrPipe, events: Int16(POLLIN), revents: 0)) }
        let ms = max(0, Int32(clamping: timeout.components.seconds * 1000
            + timeout.components.attoseconds / 1_000_000_000_000_000))
        if fds.isEmpty {
            _ = poll(nil, 0, ms)
            return
        }
        _ = poll(&fds, nfds_t(fds.count), ms)
        drainOutput()
    }

    private func drainOutput() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        func drain(_ fd: inout Int32, into sink: (ArraySlice<UInt8>) -> Void) -> Bool {
            guard fd >= 0 else { return false }
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n > 0 { sink(chunk[0..<n]); continue }
                if n < 0 && errno == EINTR { continue }
                return n == 0  // EOF
            }
        }
        if channel >= 0 && !channelAtEOF {
            channelAtEOF = drain(&channel) { bytes in bytes.withUnsafeBytes { decoder.append($0) } }
        }
        if drain(&stdoutPipe, into: { stdoutBytes += $0 }) { close(stdoutPipe); stdoutPipe = -1 }
        if drain(&stderrPipe, into: { stderrBytes += $0 }) { close(stderrPipe); stderrPipe = -1 }
    }
}

extension HarnessError {
    static func errno(_ call: String) -> HarnessError {
        HarnessError(description: "\(call): \(String(cString: strerror(Glibc.errno)))")
    }
}
