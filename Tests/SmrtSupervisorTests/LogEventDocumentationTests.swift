import Foundation
import SmrtJobs
import Testing

/// docs/supervisor.md lists every log event the supervisor emits, so people can filter on them: each `event` value
/// written in Sources/SmrtSupervisor has a row in the table of *Log lines*.
@Suite struct LogEventDocumentationTests {
    /// The event names the supervisor's sources log: `"event": "name"` and `metadata["event"] = "name"` literals,
    /// and the database errors it retries (`"event": .string("database_\(kind.rawValue)")`).
    static func emittedEvents() throws -> Set<String> {
        let folder = WorkerHarness.packageRoot.appendingPathComponent("Sources/SmrtSupervisor")
        let files = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        let literal = try Regex(#""event"\]? *[:=] *"([a-z_]+)""#)
        var events: Set<String> = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: literal) {
                if let name = match.output[1].substring { events.insert(String(name)) }
            }
            if text.contains(#"database_\(kind.rawValue)"#) {
                for kind in DatabaseErrorKind.allCases where kind.isTransient { events.insert("database_\(kind.rawValue)") }
            }
        }
        return events
    }

    /// The event names in the rows of the table under *Log lines* (first column, each in backticks).
    static func documentedEvents() throws -> Set<String> {
        let text = try String(
            contentsOf: WorkerHarness.packageRoot.appendingPathComponent("docs/supervisor.md"), encoding: .utf8)
        let section = try #require(text.range(of: "## Log lines"), "docs/supervisor.md has no Log lines section")
        var events: Set<String> = []
        for line in text[section.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            guard line.hasPrefix("| `"), let cell = line.split(separator: "|").first else { continue }
            for match in cell.matches(of: /`([a-z_]+)`/) { events.insert(String(match.output.1)) }
        }
        return events
    }

    @Test func everyLogEventIsInTheTableOfDocsSupervisor() throws {
        let emitted = try Self.emittedEvents()
        // The sources must still read as this test expects: a handful of well-known events are found.
        #expect(emitted.isSuperset(of: ["job_started", "job_progress", "worker_start_failed", "database_busy"]), "\(emitted.sorted())")
        let missing = emitted.subtracting(try Self.documentedEvents())
        #expect(missing.isEmpty, "events missing from the table in docs/supervisor.md: \(missing.sorted())")
    }
}
