import CLibUV

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libuv pipe (`uv_pipe_t`): a stream over a Unix socket or pipe descriptor.
///
/// Either ``open(_:)`` an existing descriptor, or pass an unopened pipe to
/// ``UVProcess/spawn(loop:executable:arguments:environment:workingDirectory:stdio:uid:gid:detached:resourceLimits:exitCallback:)``
/// with ``UVProcess/StdioOption/createPipe(_:readable:writable:)``: the spawn then makes a socketpair
/// (bidirectional) or a pipe (one direction) and opens this end.
public final class UVPipe: UVStream {
    /// Whether the pipe passes handles (`ipc`); worker channels use `false`.
    public let ipc: Bool

    /// Creates an unopened pipe (`uv_pipe_init`).
    public init(loop: UVLoop, ipc: Bool = false, readBufferSize: Int = 64 * 1024) throws {
        self.ipc = ipc
        super.init(loop: loop, type: UV_NAMED_PIPE, readBufferSize: readBufferSize)
        try initialize("uv_pipe_init") { uv_pipe_init(loop.raw, typed(uv_pipe_t.self), ipc ? 1 : 0) }
    }

    /// Wraps an existing descriptor (`uv_pipe_open`). The pipe owns it from now on: closing the pipe
    /// closes the descriptor.
    public func open(_ fd: Int32) throws {
        try requireOpen("uv_pipe_open")
        try UVError.check(uv_pipe_open(typed(uv_pipe_t.self), fd), "uv_pipe_open")
    }

    /// The descriptor libuv uses for this pipe (`uv_fileno`), or nil if none is open.
    public var fileDescriptor: Int32? {
        guard !isClosing else { return nil }
        var fd: uv_os_fd_t = -1
        return uv_fileno(handle, &fd) == 0 ? fd : nil
    }

    /// Two connected, non-blocking, close-on-exec pipes over a Unix socketpair (`uv_socketpair`).
    public static func socketPair(loop: UVLoop, readBufferSize: Int = 64 * 1024) throws -> (UVPipe, UVPipe) {
        var fds: [uv_os_sock_t] = [-1, -1]
        #if os(Linux)
        let streamType = Int32(SOCK_STREAM.rawValue)
        #else
        let streamType = SOCK_STREAM
        #endif
        let nonBlocking = Int32(UV_NONBLOCK_PIPE.rawValue)
        try UVError.check(uv_socketpair(streamType, 0, &fds, nonBlocking, nonBlocking), "uv_socketpair")
        var pipes: [UVPipe] = []
        var opened = 0
        do {
            for fd in fds {
                let pipe = try UVPipe(loop: loop, readBufferSize: readBufferSize)
                pipes.append(pipe)
                try pipe.open(fd)
                opened += 1
            }
        } catch {
            for pipe in pipes { pipe.close() }
            // Descriptors that no pipe took over are still ours to close.
            for fd in fds[opened...] { closeDescriptor(fd) }
            throw error
        }
        return (pipes[0], pipes[1])
    }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
