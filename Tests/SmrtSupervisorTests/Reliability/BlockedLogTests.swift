import Foundation
import SmrtJobs
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Logging must not hold up the loop: not a stderr whose reader stops reading (a hung log shipper), not a
    /// worker that floods its output.
    @Suite struct BlockedLog {
        /// A worker prints 6 MB as fast as it can (60,000 lines: seconds of loop work in a debug build) while
        /// another spins past a 1500 ms `kill` timeout: the output is taken 4 KiB per stream and loop iteration, so
        /// the deadline timer runs between chunks and the kill is less than 100 ms late, during the flood.
        @Test func aWorkerFloodingItsOutputDelaysNoKill() throws {
            let db = try TestDatabase()
            let flood = try db.enqueue("flood", ["lines": 60_000, "bytes": 100])
            let spin = try db.enqueue("spin", timeout: 1500, behavior: .kill)
            let supervisor = try SupervisorProcess(database: db, workers: 2)
            let timeout = try supervisor.waitFor("job_timeout", timeout: 15) { $0["job_id"] as? Int == Int(spin) }
            #expect(try db.job(flood).status == .running, "the flood was over before the deadline: no test")
            let late = try #require(timeout["late_ms"] as? Double)
            #expect(late < 100, "killed \(late) ms late")
            print("kill lateness during an output flood: \(String(format: "%.3f", late)) ms")
            supervisor.signal(SIGQUIT)
            #expect(try supervisor.waitForExit() == .exited(0))
        }

        /// stderr is a FIFO the test opens but does not read, so it is full after the first 64 KiB. A job prints
        /// 100 kB (~350 kB of log lines) while another spins past a 1500 ms `kill` timeout: the kill is on time and
        /// recorded while nothing is read. A second job then prints 1 MB (~3.5 MB of log lines, more than the
        /// 1 MiB queue holds) and still completes. Once the test reads, the lines come out whole, the kill's line
        /// says it was less than 100 ms late, a `log_lines_dropped` notice counts what did not fit, and the
        /// supervisor stops cleanly (exit 0).
        @Test func aStderrNobodyReadsDelaysNoKill() throws {
            let db = try TestDatabase()
            let fifo = db.file("stderr.fifo")
            #expect(mkfifo(fifo, 0o600) == 0)
            // The reader exists (so the supervisor can open the FIFO for writing) but reads nothing for now.
            let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            try #require(reader >= 0)
            defer { close(reader) }
            let pidFile = db.file("spin.pid")
            let printing = try db.enqueue("flood", ["lines": 1000, "bytes": 100])
            let spin = try db.enqueue("spin", ["pidFile": .string(pidFile)], timeout: 1500, behavior: .kill)
            let supervisor = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath,
                arguments: [
                    "--db", db.path, "--workers", "2", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format",
                    "json",
                ],
                logPath: fifo)

            // Nothing read: the pipe is full long before the deadline.
            try db.waitFor(printing, .completed, timeout: 15)
            let killed = try db.waitFor(spin, .failed, timeout: 15)
            let lastError = try #require(killed.lastError)
            #expect(lastError.hasPrefix("timed out after 1500 ms; worker "), "\(lastError)")
            if let started = killed.startedAt, let recorded = killed.completedAt {
                // Recorded by the database thread soon after the kill, while the log was still blocked. (How late
                // the kill itself was is in its log line, below; the record adds the exit, reaping and a commit.)
                let recordedAfter = recorded.timeIntervalSince(started) * 1000 - 1500
                #expect(recordedAfter < 1000, "the kill was recorded \(recordedAfter) ms after the deadline")
            }
            let flood = try db.enqueue("flood", ["lines": 10_000, "bytes": 100])
            try db.waitFor(flood, .completed, timeout: 30)

            // Reading again: every line whole, the kill's own line on time, and the drops counted.
            var log = FifoLog(fd: reader)
            let timeout = try eventually("the job_timeout and log_lines_dropped lines", timeout: 15) { () -> [String: Any]? in
                log.readAvailable()
                guard !log.events("log_lines_dropped").isEmpty else { return nil }
                return log.events("job_timeout").first { $0["job_id"] as? Int == Int(spin) }
            }
            let late = try #require(timeout["late_ms"] as? Double)
            #expect(late < 100, "killed \(late) ms late")
            print("kill lateness with stderr blocked: \(String(format: "%.3f", late)) ms")
            let dropped = log.events("log_lines_dropped").compactMap { $0["count"] as? Int }.reduce(0, +)
            #expect(dropped > 0)
            #expect(log.unparsed.isEmpty, "cut or interleaved lines: \(log.unparsed.prefix(3))")
            #expect(!log.events("worker_output").isEmpty)

            supervisor.signal(SIGTERM)
            let exit = try eventually("smrt-supervisor to stop", timeout: 15) { () -> ChildExit? in
                log.readAvailable()
                return supervisor.isRunning ? nil : supervisor.exit
            }
            #expect(exit == .exited(0))
            log.readAvailable()
            #expect(!log.events("supervisor_stopped").isEmpty)
            #expect(log.unparsed.isEmpty)
        }

        /// With stderr still not read, TERM stops the supervisor in bounded time: it waits at most 2 s for the
        /// lines still queued, then exits 0 (it would otherwise hang in write(2) for as long as nobody reads).
        @Test func aStderrNobodyReadsDoesNotHoldUpShutdown() throws {
            let db = try TestDatabase()
            let fifo = db.file("stderr.fifo")
            #expect(mkfifo(fifo, 0o600) == 0)
            let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            try #require(reader >= 0)
            defer { close(reader) }
            let printing = try db.enqueue("flood", ["lines": 1000, "bytes": 100])
            let supervisor = try SupervisorProcess(
                executable: SupervisorProcess.binaryPath,
                arguments: [
                    "--db", db.path, "--workers", "1", "--worker-exec", WorkerHarness.demoWorkerPath, "--log-format",
                    "json",
                ],
                logPath: fifo)
            try db.waitFor(printing, .completed, timeout: 15)
            let stopping = Date()
            supervisor.signal(SIGTERM)
            #expect(try supervisor.waitForExit(timeout: 10) == .exited(0))
            let seconds = Date().timeIntervalSince(stopping)
            #expect(seconds < 6, "stopped after \(seconds) s")
        }
    }
}

/// The JSON log lines read so far from a FIFO (non-blocking reads).
private struct FifoLog {
    let fd: Int32
    private var pending: [UInt8] = []
    private(set) var lines: [[String: Any]] = []
    /// Complete lines that are not JSON objects (a cut or interleaved line would be one).
    private(set) var unparsed: [String] = []

    init(fd: Int32) {
        self.fd = fd
    }

    mutating func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            pending += chunk[..<n]
        }
        var start = 0
        defer { pending.removeFirst(start) }
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[start..<newline])
            start = newline + 1
            if let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] {
                lines.append(object)
            } else {
                unparsed.append(String(decoding: line, as: UTF8.self))
            }
        }
    }

    func events(_ name: String) -> [[String: Any]] {
        lines.filter { $0["event"] as? String == name }
    }
}
