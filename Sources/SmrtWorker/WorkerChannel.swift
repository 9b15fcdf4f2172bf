#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking reads and complete writes on the worker's end of the socketpair.
struct WorkerChannel: Sendable {
    let fd: Int32

    /// Whether `fd` is open at all (it is not when the program was started by hand instead of by a supervisor).
    var isOpen: Bool { fcntl(fd, F_GETFD) != -1 }

    /// Keeps the socket out of processes that job code spawns: a grandchild holding it would hide our death
    /// from the supervisor (no EOF) and could read or write frames.
    func setCloseOnExec() {
        let flags = fcntl(fd, F_GETFD)
        if flags != -1 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Shuts down the reading side: the supervisor's writes fail from now on (EPIPE), and a blocked read returns
    /// what is left, then end of stream.
    func shutDownReading() {
        _ = shutdown(fd, Int32(SHUT_RD))
    }

    /// Reads what is available, blocking until something is. Returns the byte count, 0 at end of stream, or
    /// -errno. Retries EINTR, and waits with poll(2) if the descriptor happens to be non-blocking.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: waitUntilReady(events: Int16(POLLIN))
            default: return -Int(errno)
            }
        }
    }

    /// Writes all of `bytes`, across partial writes and EINTR. Returns 0, or the errno of a failed write
    /// (EPIPE when the supervisor is gone; SIGPIPE is ignored so this is an error, not a death).
    func writeAll(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { raw -> Int32 in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                    continue
                }
                if n < 0 {
                    switch errno {
                    case EINTR: continue
                    case EAGAIN, EWOULDBLOCK:
                        waitUntilReady(events: Int16(POLLOUT))
                        continue
                    default: return errno
                    }
                }
            }
            return 0
        }
    }

    private func waitUntilReady(events: Int16) {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        _ = poll(&pfd, 1, -1)
    }
}
