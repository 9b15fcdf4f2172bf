import CLibUV

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `uv_spawn` (`uv_process_t`).
///
/// The exit callback runs once, on the loop thread, after libuv has reaped the child; close the
/// process handle then (or any time after). Closing does not kill the child.
///
/// The exit callback and EOF on the child's pipes arrive in either order; a caller that wants the
/// child's last output waits for both.
public final class UVProcess: UVHandle {
    /// What the child gets as one of its descriptors 0, 1, 2, 3, ... (the array index).
    public enum StdioOption {
        /// Nothing (descriptors 0–2 get `/dev/null`).
        case ignore
        /// The child gets a duplicate of this parent descriptor.
        case inherit(fd: Int32)
        /// libuv makes a socketpair (so it is bidirectional), gives the child one end and opens the
        /// given, not yet opened pipe on the other. `readable`/`writable` are from the child's view:
        /// for a worker channel on fd 3 pass both. Use a pipe created with `ipc: false`.
        case createPipe(UVPipe, readable: Bool, writable: Bool)
    }

    /// The child's process id (valid after a successful spawn).
    public private(set) var pid: Int32 = 0
    /// How the child ended, once the exit callback has run.
    public private(set) var exitStatus: ExitStatus?
    private var exitCallback: ((UVProcess, ExitStatus) -> Void)?

    private init(loop: UVLoop, exitCallback: @escaping (UVProcess, ExitStatus) -> Void) {
        self.exitCallback = exitCallback
        super.init(loop: loop, type: UV_PROCESS)
    }

    /// Starts `executable` with `arguments` (not including argv[0], which is `executable`).
    /// Without a slash, `executable` is looked up in `PATH` (the child's `PATH` when `environment`
    /// is given). The parent waits until the child has exec'd (or failed to), so exec errors such as
    /// `ENOENT` are thrown here, not reported as an exit.
    ///
    /// - Parameters:
    ///   - environment: `"KEY=value"` strings, or nil to inherit this process's environment.
    ///   - workingDirectory: the child's directory, or nil for this process's.
    ///   - stdio: descriptors 0, 1, 2, ... of the child; missing entries 0–2 get `/dev/null`.
    ///   - uid, gid: switch the child to this user/group before exec (needs privileges; for later
    ///     privilege dropping). Supplementary groups are dropped when either is set.
    ///   - detached: start the child in a new session (`setsid`, `UV_PROCESS_DETACHED`), so signals
    ///     a terminal sends to the parent's process group (Ctrl-C) do not reach it. The child is still
    ///     watched and reaped as usual.
    ///   - exitCallback: runs once on the loop thread when the child has ended.
    /// - Throws: ``UVError`` from `uv_spawn` (e.g. `ENOENT`, `EACCES`). On failure the process handle
    ///   and every pipe passed as `.createPipe` are closed, so nothing leaks; run the loop (or close
    ///   it) to finish those closes.
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
        exitCallback: @escaping (UVProcess, ExitStatus) -> Void
    ) throws -> UVProcess {
        let createdPipes = stdio.compactMap { option -> UVPipe? in
            if case .createPipe(let pipe, _, _) = option { return pipe }
            return nil
        }
        func fail(_ code: Int32, _ operation: String) -> UVError {
            for pipe in createdPipes { pipe.close() }
            return UVError(code: code, operation: operation)
        }
        let strings = [executable] + arguments + (environment ?? []) + [workingDirectory ?? ""]
        if strings.contains(where: { $0.utf8.contains(0) }) {
            throw fail(UVError.Code.EINVAL, "uv_spawn (NUL byte in an argument)")
        }
        for pipe in createdPipes where pipe.isClosing {
            throw fail(UVError.Code.EINVAL, "uv_spawn (closed pipe in stdio)")
        }

        let process = UVProcess(loop: loop, exitCallback: exitCallback)
        var containers = stdio.map { option -> uv_stdio_container_t in
            var container = uv_stdio_container_t()
            switch option {
            case .ignore:
                container.flags = UV_IGNORE
            case .inherit(let fd):
                container.flags = UV_INHERIT_FD
                container.data.fd = fd
            case .createPipe(let pipe, let readable, let writable):
                var flags = UV_CREATE_PIPE.rawValue
                if readable { flags |= UV_READABLE_PIPE.rawValue }
                if writable { flags |= UV_WRITABLE_PIPE.rawValue }
                container.flags = uv_stdio_flags(rawValue: flags)
                container.data.stream = pipe.stream
            }
            return container
        }

        let rc: Int32 = withCStrings([executable] + arguments) { argv in
            withOptionalCStrings(environment) { env in
                withOptionalCString(workingDirectory) { cwd in
                    containers.withUnsafeMutableBufferPointer { stdioBuffer in
                        var options = uv_process_options_t()
                        options.exit_cb = uvProcessExited
                        options.file = UnsafePointer(argv[0])
                        options.args = argv
                        options.env = env
                        options.cwd = cwd
                        options.stdio_count = Int32(stdioBuffer.count)
                        options.stdio = stdioBuffer.baseAddress
                        if let uid {
                            options.flags |= UInt32(UV_PROCESS_SETUID.rawValue)
                            options.uid = uid
                        }
                        if detached {
                            options.flags |= UInt32(UV_PROCESS_DETACHED.rawValue)
                        }
                        if let gid {
                            options.flags |= UInt32(UV_PROCESS_SETGID.rawValue)
                            options.gid = gid
                        }
                        return uv_spawn(loop.raw, process.typed(uv_process_t.self), &options)
                    }
                }
            }
        }
        // uv_spawn initialises the handle before anything can fail, so it is closed either way.
        process.markInitialized()
        if rc < 0 {
            process.close()
            throw fail(rc, "uv_spawn")
        }
        process.pid = process.typed(uv_process_t.self).pointee.pid
        return process
    }

    /// Sends `signal` to the child (`uv_process_kill`). Returns false, sending nothing, if the child
    /// has already been reaped (libuv would otherwise signal a pid that may have been reused) or is
    /// gone (`ESRCH`); other errors (`EINVAL`, `EPERM`) throw.
    @discardableResult
    public func kill(_ signal: Int32) throws -> Bool {
        guard exitStatus == nil, !isClosing, pid > 0 else { return false }
        let rc = uv_process_kill(typed(uv_process_t.self), signal)
        if rc == UVError.Code.ESRCH { return false }
        try UVError.check(rc, "uv_process_kill")
        return true
    }

    override func didClose() {
        exitCallback = nil
    }

    fileprivate func exited(code: Int64, signal: Int32) {
        let status: ExitStatus = signal != 0 ? .signaled(signal: signal) : .exited(code: code)
        exitStatus = status
        let callback = exitCallback
        exitCallback = nil
        callback?(self, status)
    }
}

private func uvProcessExited(_ raw: UnsafeMutablePointer<uv_process_t>?, _ code: Int64, _ signal: Int32) {
    UVHandle.from(raw, as: UVProcess.self).exited(code: code, signal: signal)
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
