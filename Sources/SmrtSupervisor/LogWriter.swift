import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes log lines to a descriptor from a thread of its own, so a log destination that stops reading (a full
/// pipe whose reader hangs, a stopped terminal) never blocks the threads that log: the supervisor's loop and its
/// database thread only append to a bounded queue (`LogLineQueue`, 1 MiB by default).
///
/// When the queue is full, lines are dropped whole and counted (worker output first: it may fill only 3/4 of the
/// queue); once the writer gets through again it writes one `log_lines_dropped` notice with the count, after the
/// lines it had queued. Lines are written in the order they were logged,
/// several per `write(2)` but never more than `PIPE_BUF` bytes at once unless a single line is longer, so a line
/// of up to 4 KiB is never interleaved with another writer's on the same pipe. `flush(timeout:)` waits a bounded
/// time for what is queued (at clean shutdown).
///
/// While lines flow (the last write was less than ten lingers ago), the thread lingers `linger` seconds (2 ms by
/// default) after a first line before it writes, unless `lingerBytes` are queued by then or a flush or stop is
/// asked: a busy supervisor logs two lines per job, and waking a thread and calling `write(2)` per line cost more
/// than the line (on a 2-core machine, a wake-up per line was about a tenth of the supervisor's time). A line
/// after a quiet spell is written at once.
///
/// One writer per descriptor for the whole process (`shared(fileDescriptor:)`), so two loggers on stderr share
/// one queue and one order.
final class LogWriter: @unchecked Sendable {  // all mutable state is guarded by `condition`
    /// The queue's bound unless another is given.
    static let defaultCapacityBytes = 1 << 20
    /// Lines are gathered into writes of at most this many bytes (`PIPE_BUF` on Linux: atomic on a pipe).
    static let chunkBytes = 4096
    /// Queued bytes that end the linger at once.
    static let lingerBytes = 16 * 1024

    let fileDescriptor: Int32
    /// How long the thread waits after a first line for more before it writes, in seconds.
    let linger: Double
    private let condition = NSCondition()
    private var queue: LogLineQueue
    /// A batch taken from the queue is being written.
    private var writing = false
    private var stopping = false
    private var stopped = false
    /// A flush waits: write without lingering.
    private var flushWaiting = 0
    /// `write(2)` calls made so far (for tests).
    private var writeCalls = 0
    /// When the last batch was written (`Monotonic.nanos`).
    private var lastWriteAt: UInt64 = 0
    /// The format of the latest line, for the dropped-lines notice.
    private var noticeFormat = SupervisorConfiguration.LogFormat.text

    /// Starts the writer's thread.
    init(fileDescriptor: Int32, capacityBytes: Int = LogWriter.defaultCapacityBytes, linger: Double = 0.002) {
        self.fileDescriptor = fileDescriptor
        self.linger = linger
        queue = LogLineQueue(capacityBytes: capacityBytes)
        let thread = Thread { [self] in run() }
        thread.name = "smrt-log"
        thread.start()
    }

    /// Queues one whole line (with its newline); drops it, counted, if the queue is full. Never waits for I/O.
    /// `format` is the line's (the dropped-lines notice follows the latest); nil for a line of no format.
    /// `expendable`: a line that may use only part of the queue (what a worker printed).
    func enqueue(_ line: [UInt8], format: SupervisorConfiguration.LogFormat?, expendable: Bool = false) {
        condition.lock()
        let wasEmpty = queue.isEmpty
        queue.append(line, expendable: expendable)
        if let format { noticeFormat = format }
        if wasEmpty || queue.queuedBytes >= Self.lingerBytes { condition.signal() }
        condition.unlock()
    }

    /// Waits until everything queued so far is written, or `timeout` seconds pass. Returns whether it was all
    /// written.
    @discardableResult
    func flush(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        flushWaiting += 1
        defer { flushWaiting -= 1 }
        condition.broadcast()
        while !queue.isEmpty || writing {
            if stopped || !condition.wait(until: deadline) { return queue.isEmpty && !writing }
        }
        return true
    }

    /// `write(2)` calls made so far.
    var writes: Int {
        condition.lock()
        defer { condition.unlock() }
        return writeCalls
    }

    /// Lines dropped so far because the queue was full.
    var droppedLines: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.droppedTotal
    }

    /// Writes what is queued, then ends the thread (waiting at most `timeout` seconds). For writers that are not
    /// shared; a shared writer lives as long as the process.
    func stop(timeout: Double) {
        flush(timeout: timeout)
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    // MARK: The writer's thread

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty { break }
            let flowing = Monotonic.nanos &- lastWriteAt < UInt64(linger * 10 * 1e9)
            let lingerUntil = Date(timeIntervalSinceNow: linger)
            while flowing && !stopping && flushWaiting == 0 && queue.queuedBytes < Self.lingerBytes
                && condition.wait(until: lingerUntil) {}
            let batch = queue.takeAll()
            let format = noticeFormat
            writing = true
            condition.unlock()
            let writesInBatch = writeBatch(batch, format: format)
            condition.lock()
            writing = false
            writeCalls += writesInBatch
            lastWriteAt = Monotonic.nanos
            condition.broadcast()
        }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Writes `batch` in chunks; returns how many chunks it wrote.
    private func writeBatch(_ batch: [LogLineQueue.Entry], format: SupervisorConfiguration.LogFormat) -> Int {
        var chunks = 0
        var chunk: [UInt8] = []
        chunk.reserveCapacity(Self.chunkBytes)
        for entry in batch {
            let bytes: [UInt8]
            switch entry {
            case .line(let line): bytes = line
            case .dropped(let count): bytes = Self.droppedNotice(count: count, format: format)
            }
            if !chunk.isEmpty && chunk.count + bytes.count > Self.chunkBytes {
                writeAll(chunk)
                chunks += 1
                chunk.removeAll(keepingCapacity: true)
            }
            if bytes.count >= Self.chunkBytes {
                writeAll(bytes)
                chunks += 1
            } else {
                chunk.append(contentsOf: bytes)
            }
        }
        if !chunk.isEmpty {
            writeAll(chunk)
            chunks += 1
        }
        return chunks
    }

    /// Writes all of `bytes`, waiting as long as it takes (this thread exists to wait). A descriptor that fails
    /// (closed, `EPIPE`) loses the bytes.
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    // A non-blocking descriptor (set so by whoever shares it): wait until it takes more.
                    var ready = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, 1000)
                } else {
                    return
                }
            }
        }
    }

    /// `N log line(s) dropped ...` as a line of the log's format, with `event=log_lines_dropped` and `count`.
    static func droppedNotice(count: Int, format: SupervisorConfiguration.LogFormat) -> [UInt8] {
        let message = "\(count) log line\(count == 1 ? "" : "s") dropped: the log destination was not reading"
        let metadata: Logger.Metadata = ["event": "log_lines_dropped", "count": .int(count)]
        var line: [UInt8] = []
        switch format {
        case .json: SupervisorLogHandler.appendJSONLine(level: .warning, message: message, metadata: metadata, to: &line)
        case .text: SupervisorLogHandler.appendTextLine(level: .warning, message: message, metadata: metadata, to: &line)
        }
        return line
    }

    // MARK: One per descriptor

    private static let registry = Registry()

    /// The process's writer for `fileDescriptor`, started on first use.
    static func shared(fileDescriptor: Int32) -> LogWriter {
        registry.writer(for: fileDescriptor)
    }

    /// Flushes every shared writer, waiting at most `timeout` seconds in all. Returns whether all was written.
    @discardableResult
    static func flushAll(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var all = true
        for writer in registry.all {
            all = writer.flush(timeout: max(0, deadline.timeIntervalSinceNow)) && all
        }
        return all
    }

    private final class Registry: @unchecked Sendable {  // `writers` is guarded by `lock`
        private let lock = NSLock()
        private var writers: [Int32: LogWriter] = [:]

        func writer(for fd: Int32) -> LogWriter {
            lock.withLock {
                if let writer = writers[fd] { return writer }
                let writer = LogWriter(fileDescriptor: fd)
                writers[fd] = writer
                return writer
            }
        }

        var all: [LogWriter] { lock.withLock { Array(writers.values) } }
    }
}
