import Foundation
import Logging

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
/// Each line is written with a single `write(2)`, so lines from the loop and the database thread never interleave.
public struct SupervisorLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    public let format: SupervisorConfiguration.LogFormat
    public let fileDescriptor: Int32

    public init(format: SupervisorConfiguration.LogFormat, level: Logger.Level = .info, fileDescriptor: Int32 = 2) {
        self.format = format
        self.logLevel = level
        self.fileDescriptor = fileDescriptor
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
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let line = format == .json
            ? Self.jsonLine(level: event.level, message: event.message.description, metadata: merged)
            : Self.textLine(level: event.level, message: event.message.description, metadata: merged)
        Self.writeAll(line, to: fileDescriptor)
    }

    // MARK: Formatting

    /// Keys the text format leaves out because the message already says them.
    static let textHiddenKeys: Set<String> = ["event", "line"]

    static func textLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = Self.timestamp() + " " + level.rawValue + " " + message
        for key in metadata.keys.sorted() where !textHiddenKeys.contains(key) {
            line += " " + key + "=" + textValue(metadata[key]!)
        }
        line += "\n"
        return line
    }

    static func jsonLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "{\"ts\":\"" + Self.timestamp() + "\",\"level\":\"" + level.rawValue + "\",\"msg\":"
        appendJSONString(message, to: &line)
        for key in metadata.keys.sorted() where key != "ts" && key != "level" && key != "msg" {
            line += ","
            appendJSONString(key, to: &line)
            line += ":"
            appendJSONValue(metadata[key]!, to: &line)
        }
        line += "}\n"
        return line
    }

    private static func textValue(_ value: Logger.Metadata.Value) -> String {
        let text: String
        switch value {
        case .string(let s): text = s
        case .stringConvertible(let d as Double): text = d.isFinite ? String(format: "%.3f", d) : "\(d)"
        case .stringConvertible(let c): text = c.description
        case .array, .dictionary:
            var json = ""
            appendJSONValue(value, to: &json)
            return json
        }
        if text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            var quoted = ""
            appendJSONString(text, to: &quoted)
            return quoted
        }
        return text
    }

    private static func appendJSONValue(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let s):
            appendJSONString(s, to: &out)
        case .stringConvertible(let c):
            switch c {
            case let b as Bool: out += b ? "true" : "false"
            case is Int, is Int64, is Int32, is UInt64, is UInt32, is UInt: out += c.description
            case let d as Double: out += d.isFinite ? String(format: "%.3f", d) : "null"
            default: appendJSONString(c.description, to: &out)
            }
        case .array(let values):
            out += "["
            for (i, v) in values.enumerated() {
                if i > 0 { out += "," }
                appendJSONValue(v, to: &out)
            }
            out += "]"
        case .dictionary(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                appendJSONString(key, to: &out)
                out += ":"
                appendJSONValue(members[key]!, to: &out)
            }
            out += "}"
        }
    }

    static func appendJSONString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Now, as `2026-11-29T07:00:00.123Z`.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(spec.tv_nsec / 1_000_000))
    }

    private static func writeAll(_ line: String, to fd: Int32) {
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
