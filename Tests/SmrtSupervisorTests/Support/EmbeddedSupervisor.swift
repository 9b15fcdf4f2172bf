import CoreMetrics
import Foundation
import Logging
import SmrtJobs
@testable import SmrtSupervisor

/// The real supervisor in this process, as an app embeds it: on a thread of its own (its `run()` is the loop), on
/// any backend, with real demo worker processes, its log lines kept in memory. Stopped by `stop()`, or at once when
/// the test lets go of it.
final class EmbeddedSupervisor: @unchecked Sendable {  // `supervisor` is thread-safe for what is used here
    let supervisor: Supervisor
    let log = CapturedLog()
    private let exit = Locked<Result<Int32, any Error>?>(nil)

    /// Starts `Supervisor.run()` with the demo worker on `backend`; `configure` adjusts the configuration.
    init(
        backend: any JobBackend, workers: Int = 2, metricsFactory: (any MetricsFactory)? = nil,
        configure: (inout SupervisorConfiguration) -> Void = { _ in }
    ) {
        var configuration = SupervisorConfiguration(
            database: backend.displayName, workerExec: [WorkerHarness.demoWorkerPath], workers: workers)
        configure(&configuration)
        let log = log
        let logger = Logger(label: "embedded-supervisor-test") { _ in log.handler }
        supervisor = Supervisor(configuration: configuration, backend: backend, logger: logger, metricsFactory: metricsFactory)
        let thread = Thread { [exit, supervisor] in
            let result = Result { try supervisor.run() }
            exit.withLock { $0 = result }
        }
        thread.name = "supervisor-under-test"
        thread.start()
    }

    deinit {
        if exit.withLock({ $0 }) == nil {
            supervisor.requestStop(immediate: true)
            _ = try? eventually("the supervisor to stop", timeout: 30) { exit.withLock { $0 } }
        }
    }

    /// Stops it gracefully and returns what `run()` returned.
    @discardableResult
    func stop(timeout: Double = 30) throws -> Int32 {
        supervisor.requestStop()
        return try eventually("the supervisor to stop", timeout: timeout) { exit.withLock { $0 } }.get()
    }

    /// Waits until job `id` on `store` satisfies `done`, showing the job and the log's tail when it does not.
    @discardableResult
    func waitFor(
        _ id: Int64, on store: any JobStore, timeout: Double = 20, _ what: String = "to end", _ done: @escaping (SmrtJob) -> Bool = { $0.status.isTerminal }
    ) throws -> SmrtJob {
        try eventually("job \(id) \(what)", timeout: timeout, context: {
            let job = (try? store.get(id: id)).flatMap { $0 }
            return "job now: \(job.map { "\($0.status) attempts=\($0.attempts) error=\($0.lastError ?? "-")" } ?? "missing")\n"
                + self.log.tail()
        }) {
            try store.get(id: id).flatMap { done($0) ? $0 : nil }
        }
    }
}

/// Log lines kept in memory: each line's message and metadata (values as text).
final class CapturedLog: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var event: String? { metadata["event"] }
    }

    private let lines = Locked<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    func events(_ name: String) -> [Line] { all.filter { $0.event == name } }

    func tail(_ count: Int = 30) -> String {
        "--- log (last \(count) lines) ---\n"
            + all.suffix(count).map { "\($0.level) \($0.message) \($0.metadata.sorted { $0.key < $1.key })" }.joined(separator: "\n")
    }

    fileprivate func append(_ line: Line) { lines.withLock { $0.append(line) } }

    var handler: CapturingLogHandler { CapturingLogHandler(log: self) }
}

struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        log.append(CapturedLog.Line(level: level, message: "\(message)", metadata: merged.mapValues { "\($0)" }))
    }
}
