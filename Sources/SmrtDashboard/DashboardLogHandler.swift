import Foundation
import Logging
import SmrtJobs

/// Log lines on stderr in the supervisor's two formats: text, `2026-11-29T07:00:00.123Z info listening on
/// http://127.0.0.1:8080/ url=…` (metadata sorted by key, `event` left out), or JSON,
/// `{"ts":"…","level":"info","msg":"…","event":"dashboard_started",…}`. The dashboard logs little (start, stop,
/// actions, failures), so lines are written directly, under a lock that keeps them whole.
struct DashboardLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let format: DashboardConfiguration.LogFormat
    private let sink: Sink

    /// Where lines go: stderr, or a buffer (tests).
    final class Sink: Sendable {
        private let lines = Locked([String]())
        private let writesToStandardError: Bool

        init(writesToStandardError: Bool) {
            self.writesToStandardError = writesToStandardError
        }

        static let standardError = Sink(writesToStandardError: true)

        func write(_ line: String) {
            lines.withLock { stored in
                if writesToStandardError {
                    FileHandle.standardError.write(Data(line.utf8))
                } else {
                    stored.append(line)
                }
            }
        }

        /// The lines written so far (a buffer sink).
        var written: [String] { lines.withLock { $0 } }
    }

    init(format: DashboardConfiguration.LogFormat, level: Logger.Level = .info, sink: Sink = .standardError) {
        self.format = format
        self.logLevel = level
        self.sink = sink
    }

    static func logger(
        label: String = "smrt.dashboard", format: DashboardConfiguration.LogFormat, level: Logger.Level = .info, sink: Sink = .standardError
    ) -> Logger {
        Logger(label: label) { _ in DashboardLogHandler(format: format, level: level, sink: sink) }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        sink.write(Self.line(format: format, level: event.level, message: event.message.description, metadata: merged))
    }

    static func line(format: DashboardConfiguration.LogFormat, level: Logger.Level, message: String, metadata: Logger.Metadata, now: Date = Date()) -> String {
        // Whatever reaches a log line is redacted as the supervisor's lines are.
        let message = ArgumentRedaction.redact(text: message)
        switch format {
        case .text:
            var line = "\(Timestamp.format(now)) \(level.rawValue) \(message)"
            for key in metadata.keys.sorted() where key != "event" && !key.hasPrefix("hb.") {
                let value = ArgumentRedaction.redact(text: "\(metadata[key]!)")
                let quoted = value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" })
                line += " \(key)=" + (quoted ? JSONValue.string(value).jsonText : value)
            }
            return line + "\n"
        case .json:
            var object: [String: JSONValue] = [:]
            for (key, value) in metadata { object[key] = .string(ArgumentRedaction.redact(text: "\(value)")) }
            object["ts"] = .string(Timestamp.format(now))
            object["level"] = .string(level.rawValue)
            object["msg"] = .string(message)
            return JSONValue.object(object).jsonText + "\n"
        }
    }
}
