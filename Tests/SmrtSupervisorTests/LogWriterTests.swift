import Foundation
import Testing
@testable import SmrtSupervisor

#if canImport(Glibc)
import Glibc
#endif

/// The log writer's thread: logging returns at once while the destination does not read; what fits is written
/// whole and in order once it reads again, with one notice of how many lines were dropped.
@Suite struct LogWriterTests {
    /// A pipe whose read end the test holds without reading: the writer blocks in write(2) as soon as the pipe's
    /// buffer is full.
    private struct StalledPipe {
        let read: Int32
        let write: Int32

        init() throws {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw HarnessError(description: "pipe: errno \(errno)") }
            read = fds[0]
            write = fds[1]
        }

        /// Reads until `done` says the text so far is complete, or `timeout` seconds pass.
        func readUntil(timeout: Double = 10, _ done: (String) -> Bool) throws -> String {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            return try eventually("the log text to be complete", timeout: timeout) {
                var ready = pollfd(fd: read, events: Int16(POLLIN), revents: 0)
                if poll(&ready, 1, 10) > 0 {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
                    if n > 0 { bytes += chunk[..<n] }
                }
                let text = String(decoding: bytes, as: UTF8.self)
                return done(text) ? text : nil
            }
        }

        func close() {
            _ = Glibc.close(read)
            _ = Glibc.close(write)
        }
    }

    /// Runs `body` on a thread of its own and waits at most `timeout` seconds for it: a call that blocks fails
    /// the test instead of hanging it.
    private func returnsWithin(_ timeout: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done.wait(timeout: .now() + timeout) == .success
    }

    @Test func loggingNeverWaitsForAStalledDestinationAndReportsWhatItDropped() throws {
        let pipe = try StalledPipe()
        defer { pipe.close() }
        let writer = LogWriter(fileDescriptor: pipe.write, capacityBytes: 64 * 1024)
        defer { writer.stop(timeout: 5) }
        // 20,000 lines of ~100 bytes: 2 MB, far more than the pipe (64 KiB) and the queue (64 KiB) hold.
        let count = 20_000
        let lines = (0..<count).map { i in "line \(String(i).padding(toLength: 6, withPad: " ", startingAt: 0))" + String(repeating: "x", count: 88) + "\n" }
        let enqueued = returnsWithin(5) {
            for text in lines { writer.enqueue(Array(text.utf8), format: .text) }
        }
        #expect(enqueued, "enqueue blocked on a destination that does not read")
        // Nothing is read yet, so the writer is stuck: a bounded flush gives up in time.
        let started = Date()
        #expect(!writer.flush(timeout: 0.2))
        #expect(Date().timeIntervalSince(started) < 2)
        let dropped = writer.droppedLines
        #expect(dropped > 0 && dropped < count)

        // Reading again: the lines that fitted, whole and in the order they were logged, and notices that
        // together count every dropped line, the last one after the last line.
        func parts(_ text: String) -> (lines: [Substring], notices: [Substring]) {
            let all = text.split(separator: "\n")
            return (all.filter { !$0.contains("log lines dropped") }, all.filter { $0.contains("log lines dropped") })
        }
        func noticed(_ notices: [Substring]) -> Int {
            notices.compactMap { $0.split(separator: "count=").last.flatMap { Int($0) } }.reduce(0, +)
        }
        let text = try pipe.readUntil { text in
            let (lines, notices) = parts(text)
            return text.hasSuffix("\n") && lines.count == count - dropped && noticed(notices) == dropped
        }
        #expect(writer.flush(timeout: 5))
        let (body, notices) = parts(text)
        #expect(body.allSatisfy { $0.count == 99 && $0.hasPrefix("line ") && $0.hasSuffix("x") })
        let numbers = body.compactMap { Int($0.dropFirst(5).prefix(6).trimmingCharacters(in: .whitespaces)) }
        #expect(numbers.count == body.count && numbers == numbers.sorted())
        #expect(Set(numbers).count == numbers.count)
        #expect(!notices.isEmpty)
        #expect(text.split(separator: "\n").last?.contains("log lines dropped") == true)
        #expect(notices.allSatisfy { $0.contains(" warning ") && $0.contains(" dropped: the log destination was not reading count=") })
    }

    @Test func theNoticeFollowsTheLogFormat() {
        let json = String(decoding: LogWriter.droppedNotice(count: 3, format: .json), as: UTF8.self)
        #expect(json.hasPrefix(#"{"ts":""#))
        #expect(json.hasSuffix(#""level":"warning","msg":"3 log lines dropped: the log destination was not reading","count":3,"event":"log_lines_dropped"}"# + "\n"))
        let text = String(decoding: LogWriter.droppedNotice(count: 1, format: .text), as: UTF8.self)
        #expect(text.hasSuffix(" warning 1 log line dropped: the log destination was not reading count=1\n"))
    }

    /// A destination that reads gets every line, and `flush` returns once they are written.
    @Test func everythingIsWrittenWhenTheDestinationReads() throws {
        let pipe = try StalledPipe()
        defer { pipe.close() }
        let writer = LogWriter(fileDescriptor: pipe.write)
        defer { writer.stop(timeout: 5) }
        for i in 0..<500 { writer.enqueue(Array("line \(i)\n".utf8), format: .json) }
        let text = try pipe.readUntil { $0.hasSuffix("line 499\n") }
        #expect(writer.flush(timeout: 5))
        #expect(text == (0..<500).map { "line \($0)\n" }.joined())
        #expect(writer.droppedLines == 0)
    }

    /// Lines logged a little apart (a busy supervisor's two lines per job) share a write: while lines flow, the
    /// thread lingers after a first line instead of waking and writing once per line.
    @Test func linesLoggedCloseTogetherShareAWrite() throws {
        let pipe = try StalledPipe()
        defer { pipe.close() }
        let writer = LogWriter(fileDescriptor: pipe.write, linger: 0.05)
        defer { writer.stop(timeout: 5) }
        // 20 lines, one every 0.5 ms (spun, not slept: a sleep may oversleep by more than the gap).
        var next = DispatchTime.now().uptimeNanoseconds
        for i in 0..<20 {
            while DispatchTime.now().uptimeNanoseconds < next {}
            writer.enqueue(Array("line \(i)\n".utf8), format: .text)
            next += 500_000
        }
        let text = try pipe.readUntil { $0.hasSuffix("line 19\n") }
        #expect(text == (0..<20).map { "line \($0)\n" }.joined())
        #expect(writer.writes <= 3, "\(writer.writes) writes for 20 lines logged within 10 ms")
    }

    /// A flush (clean shutdown) writes at once, whatever the linger.
    @Test func aFlushDoesNotWaitForTheLinger() throws {
        let pipe = try StalledPipe()
        defer { pipe.close() }
        let writer = LogWriter(fileDescriptor: pipe.write, linger: 60)
        defer { writer.stop(timeout: 5) }
        // The first line after a quiet spell is written at once; the next lingers (lines flow) unless flushed.
        writer.enqueue(Array("first\n".utf8), format: .text)
        _ = try pipe.readUntil { $0 == "first\n" }
        writer.enqueue(Array("last\n".utf8), format: .text)
        #expect(writer.flush(timeout: 10), "written within 10 s although the linger is 60 s")
        #expect(try pipe.readUntil { $0 == "last\n" } == "last\n")
    }
}
