import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One line of the supervisor's `--log-format json` output (stderr), with lenient accessors: the field
/// names the bench relies on are all listed here, in one place.
struct LogEvent {
    let fields: [String: Any]
    let line: Int

    /// The event's name: `event`, else `msg` / `message`.
    var name: String {
        for key in ["event", "msg", "message"] { if let s = fields[key] as? String { return s } }
        return ""
    }

    func number(_ keys: String...) -> Double? {
        for key in keys {
            if let n = fields[key] as? NSNumber { return n.doubleValue }
            if let s = fields[key] as? String, let d = Double(s) { return d }
        }
        return nil
    }

    func string(_ keys: String...) -> String? {
        for key in keys {
            if let s = fields[key] as? String { return s }
            if let n = fields[key] as? NSNumber { return n.stringValue }
        }
        return nil
    }

    /// When the event happened, in milliseconds since the epoch: a numeric `ts_ms` / `time_ms` / `t_ms`, a
    /// numeric `ts` / `time` / `timestamp` (seconds or milliseconds, told apart by size), or ISO-8601 text.
    var timeMs: Double? {
        if let ms = number("ts_ms", "time_ms", "t_ms", "at_ms") { return ms }
        if let ns = number("ts_ns", "time_ns") { return ns / 1e6 }
        for key in ["ts", "time", "timestamp", "t", "@timestamp"] {
            if let n = fields[key] as? NSNumber {
                let d = n.doubleValue
                return d > 1e11 ? d : d * 1000
            }
            if let s = fields[key] as? String, let date = LogEvent.parseISO(s) {
                return date.timeIntervalSince1970 * 1000
            }
        }
        return nil
    }

    /// The worker the event is about (slot or pid).
    var worker: String? { string("slot", "worker_slot", "worker", "worker_index", "index") }
    var pid: String? { string("pid", "worker_pid") }

    static func parseISO(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = formatter.date(from: text) { return d }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func parse(file path: String) -> [LogEvent] {
        guard let text = readFile(path) else { return [] }
        var events: [LogEvent] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard line.first == "{",
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            else { continue }
            events.append(LogEvent(fields: object, line: i + 1))
        }
        return events
    }

    // Event kinds, matched on the name.
    var isWorkerReady: Bool {
        let n = name.lowercased()
        return n.contains("ready") || n.contains("hello")
    }
    var isWorkerExit: Bool {
        let n = name.lowercased()
        return n.contains("exit") && !n.contains("supervisor")
    }
    /// A timeout that killed the worker: smrt-supervisor logs `job_timeout` with `action: kill`, `late_ms`
    /// (after the deadline; negative = early), `elapsed_ms` and `deadline_ms`.
    var isKill: Bool {
        let n = name.lowercased()
        guard n.contains("kill") || n.contains("timeout") || n.contains("timed_out") else { return false }
        if let action = string("action"), action != "kill" { return false }
        return number("late_ms") != nil || number("elapsed_ms") != nil
    }
}

/// A running `smrt-supervisor` with its JSON log going to a file.
final class SupervisorProcess {
    let pid: pid_t
    let logPath: String
    private var stopped = false

    init(binary: String, db: String, workers: Int, workerExec: String, extra: [String] = [], logPath: String) throws {
        self.logPath = logPath
        let args = ["--db", db, "--workers", String(workers), "--worker-exec", workerExec, "--log-format", "json"] + extra
        pid = try spawnProcess(binary, args, stdout: .file(logPath + ".out"), stderr: .file(logPath))
    }

    deinit { stop() }

    var events: [LogEvent] { LogEvent.parse(file: logPath) }

    /// The last lines of the log, for error messages.
    func logTail(_ lines: Int = 15) -> String {
        let text = (readFile(logPath) ?? "") + (readFile(logPath + ".out") ?? "")
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Throws if the supervisor has exited.
    func checkAlive() throws {
        if stopped { return }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            stopped = true
            Children.remove(pid)
            throw BenchError("smrt-supervisor exited early (wait status \(status)); log tail:\n\(logTail())")
        }
    }

    /// Waits until `workers` workers have said HELLO (ready events in the log). Returns false on timeout
    /// (e.g. when the log has no recognisable ready events), after which callers just carry on.
    @discardableResult
    func waitReady(workers: Int, timeoutMs: Int = 15_000) throws -> Bool {
        let deadline = monotonicNs() + UInt64(timeoutMs) * 1_000_000
        while monotonicNs() < deadline {
            try checkAlive()
            if events.filter(\.isWorkerReady).count >= workers { return true }
            usleep(20_000)
        }
        return false
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after a grace period; kills the process group too.
    func stop(graceMs: Int = 5_000) {
        if stopped { return }
        stopped = true
        stopProcess(pid, graceMs: graceMs)
    }
}
