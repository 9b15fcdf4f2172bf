import CLibUV
import CSmrtShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process, started by a fork/exec of our own (`csmrt_spawn` in CSmrtShims) and watched on the loop
/// through a pidfd (`uv_poll_t`).
///
/// Not `uv_spawn`: that has no hook between fork and exec, where the child must close what it should not
/// inherit and set its resource limits before it switches user (a root supervisor without `CAP_SYS_RESOURCE`
/// cannot `prlimit` another user's process afterwards). And libuv installs no `SIGCHLD` handler: each child is
/// reaped through its own pidfd, so an embedding app's own children are left alone. Needs Linux 5.4 or later
/// (pidfd polling and `waitid(P_PIDFD)`).
///
/// The child gets exactly the descriptors in `stdio`: every other descriptor of this process is closed at exec,
/// whether or not it was opened with `O_CLOEXEC`. Signal dispositions and the signal mask are reset to the
/// defaults (a `SIGPIPE` ignored here is not ignored in the child).
///
/// The exit callback runs once, on the loop thread, after the child has been reaped; close the process handle
/// then (or any time after). Closing does not kill the child (one closed while running is never reaped).
///
/// The exit callback and EOF on the child's pipes arrive in either order; a caller that wants the
/// child's last output waits for both.
public final class UVProcess: UVHandle {
    /// What the child gets as one of its descriptors 0, 1, 2, 3, ... (the array index).
    public enum StdioOption {
        /// Nothing (descriptors 0–2 get `/dev/null`; above that the descriptor stays closed).
        case ignore
        /// The child gets a duplicate of this parent descriptor.
        case inherit(fd: Int32)
        /// A new channel, one end in the child and the other opened on the given, not yet opened pipe.
        /// `readable`/`writable` are from the child's view. Both: a socketpair (bidirectional; a worker
        /// channel on fd 3); one of them: a pipe in that direction (the parent's end is then only writable, or
        /// only readable). Use a pipe created with `ipc: false`.
        case createPipe(UVPipe, readable: Bool, writable: Bool)
    }

    /// A resource limit the child sets on itself before exec (and before switching user).
    public struct ResourceLimit: Equatable, Sendable {
        /// `RLIMIT_AS`, `RLIMIT_CPU`, ... (as an `Int32`).
        public var resource: Int32
        public var soft: UInt64
        /// Capped at this process's own hard limit (raising it would need `CAP_SYS_RESOURCE`).
        public var hard: UInt64

        public init(resource: Int32, soft: UInt64, hard: UInt64) {
            self.resource = resource
            self.soft = soft
            self.hard = hard
        }

        /// `RLIM_INFINITY` (a cast macro Swift cannot import).
        public static let unlimited = UInt64.max
    }

    /// The child's process id (valid after a successful spawn).
    public private(set) var pid: Int32 = 0
    /// How the child ended, once the exit callback has run. `.exited(code: -1)` if its status was lost
    /// (something else in this process reaped it, e.g. with `SIGCHLD` set to `SIG_IGN`).
    public private(set) var exitStatus: ExitStatus?
    private var exitCallback: ((UVProcess, ExitStatus) -> Void)?
    /// The pidfd the poll handle watches; closed once, after the handle's close callback.
    private var pidfd: Int32 = -1

    private init(loop: UVLoop, exitCallback: @escaping (UVProcess, ExitStatus) -> Void) {
        self.exitCallback = exitCallback
        super.init(loop: loop, type: UV_POLL)
    }

    /// Starts `executable` with `arguments` (not including argv[0], which is `executable`).
    /// Without a slash, `executable` is looked up in `PATH` (the child's `PATH` when `environment`
    /// is given). The parent waits until the child has exec'd (or failed to), so exec errors such as
    /// `ENOENT` are thrown here, not reported as an exit.
    ///
    /// - Parameters:
    ///   - environment: `"KEY=value"` strings, or nil to inherit this process's environment.
    ///   - workingDirectory: the child's directory (entered after the user switch), or nil for this process's.
    ///   - stdio: descriptors 0, 1, 2, ... of the child (at most 64); missing entries 0–2 get `/dev/null`.
    ///     Nothing else is inherited.
    ///   - uid, gid: switch the child to this user/group before exec (needs privileges; for later
    ///     privilege dropping). Supplementary groups are dropped when either is set.
    ///   - detached: start the child in a new session (`setsid`), so signals a terminal sends to the parent's
    ///     process group (Ctrl-C) do not reach it. The child is still watched and reaped as usual.
    ///   - resourceLimits: limits the child sets on itself before the user switch, so they are in force from
    ///     its first instruction and need no capability.
    ///   - niceIncrement: added to the child's nice value before exec (0: unchanged), so it yields the CPU to
    ///     this process when both want it.
    ///   - exitCallback: runs once on the loop thread when the child has ended.
    /// - Throws: ``UVError`` naming the step that failed (`spawn: ENOENT`, `spawn (setrlimit): EPERM`). On
    ///   failure every pipe passed as `.createPipe` is closed and no child is left behind; run the loop (or
    ///   close it) to finish those closes.
    public static func spawn(
        loop: UVLoop,
        executable: String,
        arguments: [String] = [],
        environment: [String]? = nil,
        workingDirectory: String? = nil,
        stdio: [StdioOption] = [],
        uid: UInt32? = nil,
        gid: UInt32? = nil,
        detached: Bool = false,
        resourceLimits: [ResourceLimit] = [],
        niceIncrement: Int32 = 0,
        exitCallback: @escaping (UVProcess, ExitStatus) -> Void
    ) throws -> UVProcess {
        let createdPipes = stdio.compactMap { option -> UVPipe? in
            if case .createPipe(let pipe, _, _) = option { return pipe }
            return nil
        }
        var childEnds: [Int32] = []
        func fail(_ code: Int32, _ operation: String) -> UVError {
            for pipe in createdPipes { pipe.close() }
            for fd in childEnds { closeDescriptor(fd) }
            return UVError(code: code, operation: operation)
        }
        let strings = [executable] + arguments + (environment ?? []) + [workingDirectory ?? ""]
        if strings.contains(where: { $0.utf8.contains(0) }) {
            throw fail(UVError.Code.EINVAL, "spawn (NUL byte in an argument)")
        }
        if stdio.count > Int(CSMRT_SPAWN_MAX_FDS) {
            throw fail(UVError.Code.EINVAL, "spawn (more than \(CSMRT_SPAWN_MAX_FDS) descriptors)")
        }
        for pipe in createdPipes where pipe.isClosing {
            throw fail(UVError.Code.EINVAL, "spawn (closed pipe in stdio)")
        }

        var fds: [Int32] = []
        for option in stdio {
            switch option {
            case .ignore:
                fds.append(-1)
            case .inherit(let fd):
                fds.append(fd)
            case .createPipe(let pipe, let readable, let writable):
                var pair: [Int32] = [-1, -1]
                let parentEnd: Int32
                let childEnd: Int32
                if readable != writable {
                    guard csmrt_cloexec_pipe(&pair) == 0 else { throw fail(-errno, "spawn (pipe2)") }
                    // pair[0] reads, pair[1] writes.
                    (childEnd, parentEnd) = readable ? (pair[0], pair[1]) : (pair[1], pair[0])
                } else {
                    #if os(Linux)
                    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                    #else
                    let type = SOCK_STREAM
                    #endif
                    guard socketpair(AF_UNIX, type, 0, &pair) == 0 else { throw fail(-errno, "spawn (socketpair)") }
                    (childEnd, parentEnd) = (pair[0], pair[1])
                }
                childEnds.append(childEnd)
                do {
                    try pipe.open(parentEnd)
                } catch {
                    closeDescriptor(parentEnd)
                    throw fail((error as? UVError)?.code ?? UVError.Code.EINVAL, "spawn (uv_pipe_open)")
                }
                fds.append(childEnd)
            }
        }

        // Descriptors 0-2 always exist in the child (/dev/null when not given).
        while fds.count < 3 { fds.append(-1) }
        let limits = resourceLimits.map { csmrt_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        var result = csmrt_spawn_result()
        let rc: Int32 = withCStrings([executable] + arguments) { argv in
            withOptionalCStrings(environment) { env in
                withOptionalCString(workingDirectory) { cwd in
                    fds.withUnsafeBufferPointer { fdBuffer in
                        limits.withUnsafeBufferPointer { limitBuffer in
                            var options = csmrt_spawn_options()
                            options.file = UnsafePointer(argv[0])
                            options.argv = UnsafePointer(argv)
                            options.envp = env.map { UnsafePointer($0) }
                            options.cwd = cwd
                            options.fds = fdBuffer.baseAddress
                            options.fd_count = Int32(fdBuffer.count)
                            options.limits = limitBuffer.baseAddress
                            options.limit_count = Int32(limitBuffer.count)
                            if let uid {
                                options.set_uid = 1
                                options.uid = uid
                            }
                            if let gid {
                                options.set_gid = 1
                                options.gid = gid
                            }
                            options.new_session = detached ? 1 : 0
                            options.nice_increment = niceIncrement
                            return csmrt_spawn(&options, &result)
                        }
                    }
                }
            }
        }
        // The child has its copies (or never ran): the parent's copies of its ends go now.
        for fd in childEnds { closeDescriptor(fd) }
        childEnds = []
        if rc != 0 {
            throw fail(-rc, Self.operation(failedAt: result.step))
        }

        let process = UVProcess(loop: loop, exitCallback: exitCallback)
        process.pid = result.pid
        do {
            try process.initialize("uv_poll_init") { uv_poll_init(loop.raw, process.typed(uv_poll_t.self), result.pidfd) }
        } catch {
            // Not watched, so never reaped by anyone: end it here.
            _ = csmrt_pidfd_send_signal(result.pidfd, SIGKILL)
            var status: Int32 = 0
            while waitpid(result.pid, &status, 0) < 0 && errno == EINTR {}
            closeDescriptor(result.pidfd)
            throw fail((error as? UVError)?.code ?? UVError.Code.EINVAL, "uv_poll_init")
        }
        process.pidfd = result.pidfd
        let started = uv_poll_start(process.typed(uv_poll_t.self), Int32(UV_READABLE.rawValue), uvProcessPidfdReady)
        if started < 0 {
            _ = csmrt_pidfd_send_signal(result.pidfd, SIGKILL)
            var status: Int32 = 0
            while waitpid(result.pid, &status, 0) < 0 && errno == EINTR {}
            process.exitCallback = nil
            process.close()
            throw fail(started, "uv_poll_start (pidfd)")
        }
        return process
    }

    /// Sends `signal` to the child (through its pidfd, so never to a process that reused its pid). Returns
    /// false, sending nothing, if the child has already been reaped or is gone (`ESRCH`); other errors
    /// (`EINVAL`, `EPERM`) throw.
    @discardableResult
    public func kill(_ signal: Int32) throws -> Bool {
        guard exitStatus == nil, !isClosing, pidfd >= 0 else { return false }
        if csmrt_pidfd_send_signal(pidfd, signal) == 0 { return true }
        let error = errno
        if error == ESRCH { return false }
        throw UVError(code: -error, operation: "pidfd_send_signal")
    }

    override func didClose() {
        exitCallback = nil
        if pidfd >= 0 {
            closeDescriptor(pidfd)
            pidfd = -1
        }
    }

    fileprivate func pidfdReady() {
        guard exitStatus == nil else { return }
        var code: Int32 = 0
        var signal: Int32 = 0
        let reaped = csmrt_pidfd_reap(pidfd, &code, &signal)
        if reaped == 0 { return }  // readable before the exit was recorded: wait for the next event
        uv_poll_stop(typed(uv_poll_t.self))
        let status: ExitStatus
        if reaped < 0 {
            status = .exited(code: -1)
        } else {
            status = signal != 0 ? .signaled(signal: signal) : .exited(code: Int64(code))
        }
        exitStatus = status
        let callback = exitCallback
        exitCallback = nil
        callback?(self, status)
    }

    /// The operation named in a spawn error, by the step of `csmrt_spawn` that failed.
    static func operation(failedAt step: Int32) -> String {
        switch step {
        case Int32(CSMRT_SPAWN_PIPE): return "spawn (pipe2)"
        case Int32(CSMRT_SPAWN_FORK): return "spawn (fork)"
        case Int32(CSMRT_SPAWN_PIDFD): return "spawn (pidfd_open; Linux 5.4 or later is needed)"
        case Int32(CSMRT_SPAWN_SETSID): return "spawn (setsid)"
        case Int32(CSMRT_SPAWN_DESCRIPTORS): return "spawn (descriptors)"
        case Int32(CSMRT_SPAWN_RLIMIT): return "spawn (setrlimit)"
        case Int32(CSMRT_SPAWN_SETGROUPS): return "spawn (setgroups)"
        case Int32(CSMRT_SPAWN_SETGID): return "spawn (setgid)"
        case Int32(CSMRT_SPAWN_SETUID): return "spawn (setuid)"
        case Int32(CSMRT_SPAWN_CHDIR): return "spawn (chdir)"
        case Int32(CSMRT_SPAWN_NICE): return "spawn (nice)"
        default: return "spawn"
        }
    }
}

private func uvProcessPidfdReady(_ raw: UnsafeMutablePointer<uv_poll_t>?, _ status: Int32, _ events: Int32) {
    // An error on a pidfd poll (not expected) is handled like readiness: waitid tells what is true.
    UVHandle.from(raw, as: UVProcess.self).pidfdReady()
}

private func withCStrings<R>(
    _ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R
) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

private func withOptionalCStrings<R>(
    _ strings: [String]?, _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> R
) -> R {
    guard let strings else { return body(nil) }
    return withCStrings(strings) { body($0) }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
