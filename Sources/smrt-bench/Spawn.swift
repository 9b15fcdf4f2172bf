import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Child processes the bench started; killed on exit, on error and on SIGINT/SIGTERM.
/// A fixed table of pids, so the signal handler only reads plain memory.
enum Children {
    static let capacity = 64
    nonisolated(unsafe) static let pids: UnsafeMutablePointer<pid_t> = {
        let p = UnsafeMutablePointer<pid_t>.allocate(capacity: capacity)
        p.initialize(repeating: 0, count: capacity)
        return p
    }()

    static func add(_ pid: pid_t) {
        for i in 0..<capacity where pids[i] == 0 { pids[i] = pid; return }
    }

    static func remove(_ pid: pid_t) {
        for i in 0..<capacity where pids[i] == pid { pids[i] = 0 }
    }

    /// SIGKILLs every recorded child and its process group (each child leads its own group), and reaps them.
    static func killAll() {
        for i in 0..<capacity where pids[i] > 0 {
            kill(-pids[i], SIGKILL)
            kill(pids[i], SIGKILL)
            var status: Int32 = 0
            waitpid(pids[i], &status, 0)
            pids[i] = 0
        }
    }

    static func installSignalHandlers() {
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { sig in
            for i in 0..<Children.capacity where Children.pids[i] > 0 {
                kill(-Children.pids[i], SIGKILL)
                kill(Children.pids[i], SIGKILL)
            }
            _exit(128 + sig)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

/// Where a child's standard stream goes.
enum Redirect {
    case devNull
    case file(String)
    case inherit
}

/// Starts `path` with `args` through posix_spawn, in a new process group, stdin from /dev/null.
/// `fd3`, when given, becomes the child's fd 3 (it must not itself be 3; see `moveAbove`).
func spawnProcess(
    _ path: String, _ args: [String], stdout: Redirect = .devNull, stderr: Redirect = .inherit, fd3: Int32? = nil
) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    posix_spawnattr_setpgroup(&attributes, 0)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGPIPE, SIGINT, SIGTERM] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)

    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    for (fd, redirect) in [(Int32(1), stdout), (Int32(2), stderr)] {
        switch redirect {
        case .devNull: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
        case .file(let file): posix_spawn_file_actions_addopen(&actions, fd, file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        case .inherit: break
        }
    }
    if let fd3 {
        precondition(fd3 != 3, "move the descriptor above 3 first")
        posix_spawn_file_actions_adddup2(&actions, fd3, 3)
    }

    let argv = ([path] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    if rc != 0 { throw BenchError("cannot start \(path): \(String(cString: strerror(rc)))") }
    Children.add(pid)
    return pid
}

/// Duplicates `fd` to a close-on-exec descriptor numbered 10 or more and closes the original.
func moveAbove(_ fd: Int32) -> Int32 {
    let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
    close(fd)
    return moved
}

/// Waits for `pid` up to `timeoutMs`; returns its wait status, or nil if it is still running.
func waitFor(_ pid: pid_t, timeoutMs: Int) -> Int32? {
    let deadline = monotonicNs() + UInt64(timeoutMs) * 1_000_000
    while true {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { Children.remove(pid); return status }
        if r < 0 { Children.remove(pid); return -1 }
        if monotonicNs() >= deadline { return nil }
        usleep(5_000)
    }
}

/// SIGTERM, then SIGKILL after `graceMs`; always reaps, and kills what is left of the process group.
func stopProcess(_ pid: pid_t, graceMs: Int = 5_000) {
    kill(pid, SIGTERM)
    if waitFor(pid, timeoutMs: graceMs) == nil {
        kill(pid, SIGKILL)
        _ = waitFor(pid, timeoutMs: 5_000)
    }
    kill(-pid, SIGKILL)
    Children.remove(pid)
}

/// Runs a command to completion and returns its stdout (for `--help` probes and version strings).
func captureOutput(_ path: String, _ args: [String], timeoutMs: Int = 10_000) -> (status: Int32, output: String)? {
    guard let dir = try? makeTempDir(prefix: "smrt-bench-probe") else { return nil }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/out"
    guard let pid = try? spawnProcess(path, args, stdout: .file(out), stderr: .file(out)) else { return nil }
    guard let status = waitFor(pid, timeoutMs: timeoutMs) else {
        stopProcess(pid, graceMs: 100)
        return nil
    }
    return (status, readFile(out) ?? "")
}

/// utime + stime of a process in seconds, from /proc/PID/stat.
func processCPUSeconds(_ pid: pid_t) -> Double? {
    guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after "comm)": state(3) ppid(4) ... utime(14) stime(15), so utime is index 11 from here.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
    return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Direct children of `pid` (from /proc/PID/task/*/children).
func childPids(of pid: pid_t) -> [pid_t] {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return [] }
    var result: [pid_t] = []
    for task in tasks {
        guard let text = readFile("/proc/\(pid)/task/\(task)/children") else { continue }
        result += text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    return result
}
