#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resource figures for a running process, read from `/proc` (Linux only; nil elsewhere).
public enum ProcessStats {
    /// Resident set size of `pid` in bytes, from `/proc/PID/statm`; nil if the process is gone or
    /// the file cannot be read.
    public static func residentBytes(pid: Int32) -> UInt64? {
        guard pid > 0, let statm = readSmallFile("/proc/\(pid)/statm") else { return nil }
        // Fields: size resident shared text lib data dt, in pages.
        let fields = statm.split(separator: " ")
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return nil }
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pageSize > 0 else { return nil }
        return pages * UInt64(pageSize)
    }

    /// Resident set size of `pid` in whole MiB (rounded down), for memory limits per worker.
    public static func residentMB(pid: Int32) -> Int? {
        residentBytes(pid: pid).map { Int($0 / (1024 * 1024)) }
    }

    /// CPU time (user + system) `pid` has used, in seconds, from `/proc/PID/stat`; nil if it is gone.
    public static func cpuSeconds(pid: Int32) -> Double? {
        // utime (field 14) and stime (15), in clock ticks.
        guard let fields = statFields(pid: pid), fields.count > 12, let user = Double(fields[11]),
            let system = Double(fields[12])
        else { return nil }
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? (user + system) / Double(ticks) : nil
    }

    /// CPU time (user + system) `pid` has used, in nanoseconds, from its CPU clock (`clock_getcpuclockid`):
    /// exact, and readable for any process, also one running as another user. Nil if it is gone.
    public static func cpuNanos(pid: Int32) -> UInt64? {
        guard pid > 0 else { return nil }
        var clock = clockid_t()
        guard clock_getcpuclockid(pid, &clock) == 0 else { return nil }
        var now = timespec()
        guard clock_gettime(clock, &now) == 0 else { return nil }
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// The state letter of `pid` (`R`, `S`, `Z` for a zombie, ...), from `/proc/PID/stat`; nil if it is gone.
    public static func state(pid: Int32) -> Character? {
        statFields(pid: pid)?.first?.first
    }

    /// The fields of `/proc/PID/stat` after the command name (which may hold spaces and parentheses): the
    /// first is the state (field 3).
    private static func statFields(pid: Int32) -> [Substring]? {
        guard pid > 0, let stat = readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self).trimmingNewline()
    }
}

extension String {
    fileprivate func trimmingNewline() -> String {
        var s = Substring(self)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
