import Foundation
import SmrtProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The IPC ceiling: round trips between two processes over a socketpair, with a RUN-sized frame one way and a
/// RESULT_OK-sized frame back, blocking read/write on both sides, no decoding. The supervisor's e2e
/// throughput per worker cannot beat this.
enum Pingpong {
    /// A real RUN frame for a Demo.noop job (what the supervisor sends per job).
    static var runFrame: [UInt8] {
        WorkerMessage.run(
            RunRequest(
                jobId: 1_234_567, attempt: 1, deadlineMillis: 1_790_000_000_000, objectType: "Demo",
                method: "noop", argsJSON: "{}")
        ).encodeFrame()
    }

    /// A real RESULT_OK frame with no result (what the demo worker answers to a noop).
    static var replyFrame: [UInt8] { WorkerMessage.resultOK(jobId: 1_234_567, result: nil).encodeFrame() }

    /// Runs `rounds` timed round trips (after a warm-up) against a child started from this executable.
    /// Returns round trips per second.
    static func measure(rounds: Int) throws -> (perSecond: Double, runBytes: Int, replyBytes: Int) {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw BenchError("socketpair: \(String(cString: strerror(errno)))")
        }
        let mine = moveAbove(pair[0])
        let theirs = moveAbove(pair[1])
        let warmup = min(2_000, rounds / 10)
        let pid = try spawnProcess(
            selfExecutablePath(), ["pingpong-child", "--rounds", String(warmup + rounds)], fd3: theirs)
        close(theirs)
        defer {
            close(mine)
            if waitFor(pid, timeoutMs: 5_000) == nil { stopProcess(pid, graceMs: 100) }
        }
        let run = runFrame
        let reply = replyFrame
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        for _ in 0..<warmup { try roundTrip(mine, send: run, expect: reply.count, &buffer) }
        let start = monotonicNs()
        for _ in 0..<rounds { try roundTrip(mine, send: run, expect: reply.count, &buffer) }
        let seconds = Double(monotonicNs() - start) / 1e9
        return (Double(rounds) / seconds, run.count, reply.count)
    }

    /// The same loop against the real demo worker (HELLO first, then RUN Demo.noop -> RESULT_OK, one at a time):
    /// the worker runtime's cost per job on top of the raw IPC, with no supervisor and no database.
    ///
    /// `arguments` go to the worker (`--protocol-version 3`: one RUN at a time, no STARTED). `inFlight` > 1 keeps that
    /// many RUNs sent and not answered (a worker of protocol 4 queues them: pipelining); STARTED frames are read and
    /// skipped.
    static func measureWorker(_ worker: String, arguments: [String] = [], rounds: Int, inFlight: Int = 1) throws -> Double {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw BenchError("socketpair: \(String(cString: strerror(errno)))")
        }
        let mine = moveAbove(pair[0])
        let theirs = moveAbove(pair[1])
        let pid = try spawnProcess(worker, arguments, fd3: theirs)
        close(theirs)
        defer {
            close(mine)  // EOF: the worker exits
            if waitFor(pid, timeoutMs: 5_000) == nil { stopProcess(pid, graceMs: 100) }
        }
        // Frames are decoded from a stream: a worker of protocol 4 writes a result and the next STARTED in one write.
        var decoder = FrameDecoder()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        func nextMessage() throws -> WorkerMessage {
            while true {
                if let message = try decoder.next() { return message }
                let n = chunk.withUnsafeMutableBytes { read(mine, $0.baseAddress, $0.count) }
                if n > 0 {
                    chunk.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else if !(n < 0 && errno == EINTR) {
                    throw BenchError(n == 0 ? "worker closed the socket" : "read: \(String(cString: strerror(errno)))")
                }
            }
        }
        guard case .hello = try nextMessage() else { throw BenchError("no HELLO from the demo worker") }
        var sent = 0
        func send() throws {
            sent += 1
            let frame = WorkerMessage.run(
                RunRequest(jobId: Int64(sent), attempt: 1, deadlineMillis: 0, objectType: "Demo", method: "noop")
            ).encodeFrame()
            try writeAll(mine, frame)
        }
        /// Reads messages until a result (STARTED skipped).
        func awaitResult() throws {
            while true {
                switch try nextMessage() {
                case .started: continue
                case .resultOK: return
                case let other: throw BenchError("worker answered \(other.type)")
                }
            }
        }
        /// `count` jobs, keeping `inFlight` RUNs unanswered.
        func run(_ count: Int) throws {
            let first = sent
            while sent - first < min(inFlight, count) { try send() }
            for _ in 0..<count {
                try awaitResult()
                if sent - first < count { try send() }
            }
        }
        let warmup = min(1_000, rounds / 10)
        if warmup > 0 { try run(warmup) }
        let start = monotonicNs()
        try run(rounds)
        return Double(rounds) / (Double(monotonicNs() - start) / 1e9)
    }

    @inline(__always)
    static func roundTrip(_ fd: Int32, send: [UInt8], expect: Int, _ buffer: inout [UInt8]) throws {
        try writeAll(fd, send)
        try readFrame(fd, &buffer)
    }

    /// The child: reads RUN frames from fd 3 and answers each with a RESULT_OK frame, `rounds` times.
    static func child(rounds: Int) -> Int32 {
        let fd: Int32 = 3
        let reply = replyFrame
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        do {
            for _ in 0..<rounds {
                try readFrame(fd, &buffer)
                try writeAll(fd, reply)
            }
        } catch {
            FileHandle.standardError.write("pingpong-child: \(error)\n".data(using: .utf8)!)
            return 1
        }
        return 0
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else {
                    throw BenchError("write: \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// Reads one length-prefixed frame (blocking): the 4-byte big-endian length, then the body.
    /// Frames never arrive coalesced here (strict ping-pong), so whatever `read` returns is one frame or part of it.
    static func readFrame(_ fd: Int32, _ buffer: inout [UInt8]) throws {
        var have = 0
        var need = 4
        try buffer.withUnsafeMutableBytes { raw in
            while have < need {
                let n = read(fd, raw.baseAddress! + have, raw.count - have)
                if n > 0 {
                    have += n
                    if need == 4 && have >= 4 {
                        let length = Int(raw[0]) << 24 | Int(raw[1]) << 16 | Int(raw[2]) << 8 | Int(raw[3])
                        need = 4 + length
                    }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    throw BenchError(n == 0 ? "peer closed the socket" : "read: \(String(cString: strerror(errno)))")
                }
            }
        }
    }
}
