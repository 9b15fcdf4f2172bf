import Foundation
import Logging
import SmrtJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler writing one line per event to a file descriptor (stderr by default), as text or as
/// JSON lines.
///
/// Text: `2026-11-29T07:00:00.123Z info job 42 Demo.noop completed duration_ms=3 worker_pid=1234`
/// (metadata sorted by key, the `event` key left out because the message says it).
/// JSON: `{"ts":"2026-11-29T07:00:00.123Z","level":"info","msg":"job 42 Demo.noop completed","event":"job_completed",
/// "duration_ms":3,"job_id":42,...}`; integer, floating-point and boolean metadata stay numbers and booleans.
///
/// Logging never waits for the destination: each line is handed whole to the descriptor's `LogWriter`, a thread
/// that writes in order, so a stderr pipe nobody reads cannot stop the loop or the database thread. When its
/// 1 MiB queue is full, lines are dropped whole and counted (`worker_output` lines first: they may fill only 3/4
/// of it), and a `log_lines_dropped` line says how many once writing works again. `flush(timeout:)` waits a
/// bounded time for what is queued.
public struct SupervisorLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    public let format: SupervisorConfiguration.LogFormat
    public let fileDescriptor: Int32
    private let writer: LogWriter

    public init(format: SupervisorConfiguration.LogFormat, level: Logger.Level = .info, fileDescriptor: Int32 = 2) {
        self.format = format
        self.logLevel = level
        self.fileDescriptor = fileDescriptor
        writer = LogWriter.shared(fileDescriptor: fileDescriptor)
    }

    /// Waits until the lines logged so far through any `SupervisorLogHandler` are written, at most `timeout`
    /// seconds (a destination that does not read would otherwise hold the process forever). Returns whether
    /// everything was written. `Supervisor.run()` calls it before it returns.
    @discardableResult
    public static func flush(timeout: Double = 2) -> Bool {
        LogWriter.flushAll(timeout: timeout)
    }

    /// Writes `message` as a line of its own on `fileDescriptor`, after the log lines queued before it, and waits
    /// for it at most `timeout` seconds: for a program's last words (`smrt-supervisor: ...` before exit 1).
    public static func writeMessage(_ message: String, fileDescriptor: Int32 = 2, timeout: Double = 2) {
        var line = Array(message.utf8)
        if line.last != UInt8(ascii: "\n") { line.append(UInt8(ascii: "\n")) }
        let writer = LogWriter.shared(fileDescriptor: fileDescriptor)
        writer.enqueue(line, format: nil)
        writer.flush(timeout: timeout)
    }

    /// A `Logger` using this handler.
    public static func logger(
        label: String = "smrt.supervisor", format: SupervisorConfiguration.LogFormat, level: Logger.Level = .info
    ) -> Logger {
        Logger(label: label) { _ in SupervisorLogHandler(format: format, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Most lines carry only their own metadata: no merged copy then.
        var merged: Logger.Metadata
        if metadata.isEmpty && metadataProvider == nil {
            merged = event.metadata ?? [:]
        } else {
            merged = metadata
            if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
            if let own = event.metadata { merged.merge(own) { _, new in new } }
        }
        var line: [UInt8] = []
        line.reserveCapacity(320)
        if format == .json {
            Self.appendJSONLine(level: event.level, message: event.message.description, metadata: merged, to: &line)
        } else {
            Self.appendTextLine(level: event.level, message: event.message.description, metadata: merged, to: &line)
        }
        // What workers print may flood; it gives way first, so the supervisor's own lines still get through.
        var expendable = false
        if case .string("worker_output")? = merged["event"] { expendable = true }
        writer.enqueue(line, format: format, expendable: expendable)
    }

    // MARK: Formatting
    //
    // Lines are built as UTF-8 bytes in one buffer, without Foundation formatting: a job makes two lines
    // (started, completed), so this is on the supervisor's hot path (docs/performance.md).

    /// Keys the text format leaves out because the message already says them.
    static let textHiddenKeys: Set<String> = ["event", "line"]

    static func textLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line: [UInt8] = []
        appendTextLine(level: level, message: message, metadata: metadata, to: &line)
        return String(decoding: line, as: UTF8.self)
    }

    static func jsonLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line: [UInt8] = []
        appendJSONLine(level: level, message: message, metadata: metadata, to: &line)
        return String(decoding: line, as: UTF8.self)
    }

    static func appendTextLine(level: Logger.Level, message: String, metadata: Logger.Metadata, to line: inout [UInt8]) {
        appendTimestamp(to: &line)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: level.rawValue.utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: message.utf8)
        // Sorted as pairs: no hash lookup per key.
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !textHiddenKeys.contains(key) {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            appendTextValue(value, to: &line)
        }
        line.append(UInt8(ascii: "\n"))
    }

    static func appendJSONLine(level: Logger.Level, message: String, metadata: Logger.Metadata, to line: inout [UInt8]) {
        line.append(contentsOf: #"{"ts":""#.utf8)
        appendTimestamp(to: &line)
        line.append(contentsOf: #"","level":""#.utf8)
        line.append(contentsOf: level.rawValue.utf8)
        line.append(contentsOf: #"","msg":"#.utf8)
        appendJSONString(message, to: &line)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "ts" && key != "level" && key != "msg" {
            line.append(UInt8(ascii: ","))
            appendJSONString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            appendJSONValue(value, to: &line)
        }
        line.append(contentsOf: "}\n".utf8)
    }

    private static func appendTextValue(_ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        switch value {
        case .string(let s):
            appendTextWord(s, to: &line)
        case .stringConvertible(let c):
            if let n = c as? Int64 {
                appendInteger(n, to: &line)
            } else if let d = c as? Double, d.isFinite {
                appendMillis(d, to: &line)
            } else {
                appendTextWord(c.description, to: &line)
            }
        case .array, .dictionary:
            appendJSONValue(value, to: &line)
        }
    }

    /// A text value as is, or JSON-quoted when it is empty or holds a space, quote, `=` or line break.
    private static func appendTextWord(_ text: String, to line: inout [UInt8]) {
        // Bytes that may start one of those (0xC2, 0xE2: the non-ASCII line breaks); only then look closer.
        let suspicious = text.utf8.contains { byte in
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "=")
                || (byte >= 0x0A && byte <= 0x0D) || byte == 0xC2 || byte == 0xE2
        }
        if text.isEmpty || suspicious && text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            appendJSONString(text, to: &line)
        } else {
            line.append(contentsOf: text.utf8)
        }
    }

    private static func appendJSONValue(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let s):
            appendJSONString(s, to: &out)
        case .stringConvertible(let c):
            if let n = c as? Int64 {
                appendInteger(n, to: &out)
            } else if let d = c as? Double {
                if d.isFinite { appendMillis(d, to: &out) } else { out.append(contentsOf: "null".utf8) }
            } else if let b = c as? Bool {
                out.append(contentsOf: (b ? "true" : "false").utf8)
            } else if c is Int || c is Int32 || c is UInt64 || c is UInt32 || c is UInt {
                out.append(contentsOf: c.description.utf8)
            } else {
                appendJSONString(c.description, to: &out)
            }
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONValue(v, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendJSONValue(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `s` as a JSON string: quotes, backslashes and control characters escaped, everything else as is (UTF-8).
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            for (i, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                case 0x0A: out.append(contentsOf: #"\n"#.utf8)
                case 0x0D: out.append(contentsOf: #"\r"#.utf8)
                case 0x09: out.append(contentsOf: #"\t"#.utf8)
                default:
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0xF))
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// A finite value with exactly three decimals (`2.500`), as `%.3f` would print it.
    static func appendMillis(_ value: Double, to out: inout [UInt8]) {
        let thousandths = (value * 1000).rounded()
        guard abs(thousandths) < 9e18 else {
            out.append(contentsOf: String(value).utf8)
            return
        }
        var scaled = Int64(thousandths)
        if scaled < 0 {
            out.append(UInt8(ascii: "-"))
            scaled = -scaled
        }
        appendInteger(scaled / 1000, to: &out)
        out.append(UInt8(ascii: "."))
        let fraction = Int(scaled % 1000)
        out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    /// Now, as `2026-11-29T07:00:00.123Z`.
    static func timestamp() -> String {
        Timestamp.format(Date())
    }

    static func appendTimestamp(to out: inout [UInt8]) {
        Timestamp.append(Date(), to: &out)
    }
}
