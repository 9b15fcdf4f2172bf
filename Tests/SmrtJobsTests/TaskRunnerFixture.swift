import Foundation
import Logging
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// What the registered test methods saw.
final class RunnerProbe: Sendable {
    struct State {
        var running = 0
        var maxRunning = 0
        var started = 0
        var cancelled = 0
        var labels: [String] = []
        var args: [[String: JSONValue]] = []
        var configs: [[String: JSONValue]?] = []
        /// `waitForGate` returns once this is set.
        var gateOpen = false
    }

    let state = Locked(State())

    func began() {
        state.withLock { s in
            s.running += 1
            s.started += 1
            s.maxRunning = max(s.maxRunning, s.running)
        }
    }

    func ended() { state.withLock { $0.running -= 1 } }
    func openGate() { state.withLock { $0.gateOpen = true } }
    var snapshot: State { state.withLock { $0 } }
}

/// The registered type: static jobs construct one, passing `_agentConfig`.
final class RunnerWork: Sendable {
    let probe: RunnerProbe
    let config: [String: JSONValue]?
    init(probe: RunnerProbe, config: [String: JSONValue]?) {
        self.probe = probe
        self.config = config
    }
}

struct RunnerSleepArgs: Codable { var ms: Int }
struct RunnerAddArgs: Codable { var a: Int; var b: Int }

struct RunnerFlakyError: Error, CustomStringConvertible {
    var description: String { "flaky failure" }
}

/// Every event a runner emitted, in order.
final class EventLog: Sendable {
    let events = Locked<[TaskRunnerEvent]>([])
    func append(_ event: TaskRunnerEvent) { events.withLock { $0.append(event) } }
    var all: [TaskRunnerEvent] { events.withLock { $0 } }
    /// Short names: "started", "completed", "retrying", "failed", "timeout:fail", ...
    var names: [String] { all.map(\.testName) }
}

extension TaskRunnerEvent {
    var testName: String {
        switch self {
        case .runnerStarted: return "runnerStarted"
        case .runnerStopped: return "runnerStopped"
        case .runnerError: return "runnerError"
        case .jobStarted: return "started"
        case .jobCompleted: return "completed"
        case .jobFailed: return "failed"
        case .jobRetrying: return "retrying"
        case .jobTimeout(_, let behavior, _, _): return "timeout:\(behavior.rawValue)"
        case .jobRecovered: return "recovered"
        case .jobReleased: return "released"
        }
    }
}

/// A real SQLite file in a temporary directory, a registry of test methods, and the runners of one test.
final class RunnerFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let store: SQLiteJobStore
    let registry = ObjectRegistry()
    let probe = RunnerProbe()
    let log = EventLog()
    private var runners: [TaskRunner] = []
    private var queues: [JobQueue] = []

    private init() throws {
        directory = try TemporaryDirectory(prefix: "smrt-runner-test")
        store = try SQLiteJobStore(path: directory.path("jobs.sqlite"))
        let probe = self.probe
        registry.register(RunnerWork.self, as: "Work", construct: { RunnerWork(probe: probe, config: $0) })
            .method("add") { (_: RunnerWork, args: RunnerAddArgs) in args.a + args.b }
            .method("sleep") { (work: RunnerWork, args: RunnerSleepArgs) -> Int in
                work.probe.began()
                defer { work.probe.ended() }
                try await Task.sleep(for: .milliseconds(args.ms))
                return args.ms
            }
            .method("sleepThroughCancel") { (work: RunnerWork, args: RunnerSleepArgs) -> Int in
                // Ignores cancellation, as a method stuck in blocking code would.
                work.probe.began()
                defer { work.probe.ended() }
                let until = ContinuousClock.now.advanced(by: .milliseconds(args.ms))
                while ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(5)) }
                return args.ms
            }
            .method("waitForGate") { (work: RunnerWork, _: NoArgs) -> String in
                // Ignores cancellation too; returns only when the test opens the gate.
                work.probe.began()
                defer { work.probe.ended() }
                while !work.probe.snapshot.gateOpen { try? await Task.sleep(for: .milliseconds(5)) }
                return "done"
            }
            .method("hang") { (work: RunnerWork, _: NoArgs) async throws -> Void in
                work.probe.began()
                defer { work.probe.ended() }
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    work.probe.state.withLock { $0.cancelled += 1 }
                    throw error
                }
            }
            .method("flaky") { (_: RunnerWork, _: NoArgs) async throws -> Void in throw RunnerFlakyError() }
            .method("record", raw: { work, args in
                work.probe.state.withLock { s in
                    s.labels.append(args["label"]?.stringValue ?? "?")
                    s.args.append(args)
                    s.configs.append(work.config)
                }
                return .object(args)
            })
        registry.register(RunnerWork.self, as: "T", construct: { RunnerWork(probe: probe, config: $0) })
    }

    /// Runs `body` with a fresh fixture; stops its runners and removes the database afterwards.
    static func run(_ body: (RunnerFixture) async throws -> Void) async throws {
        let fixture = try RunnerFixture()
        defer { fixture.directory.remove() }
        do {
            try await body(fixture)
        } catch {
            await fixture.stopAll()
            throw error
        }
        await fixture.stopAll()
    }

    /// Fast settings for tests; the lease is short so recovery can be observed.
    static func options(
        concurrency: Int = 5, shutdownTimeout: Duration = .seconds(5), leaseTTL: Duration = .seconds(1),
        pollInterval: Duration = .milliseconds(50), scheduleRunner: ScheduleRunner? = nil
    ) -> TaskRunner.Options {
        TaskRunner.Options(
            concurrency: concurrency, queues: ["default"], pollInterval: pollInterval,
            heartbeatInterval: .milliseconds(100), shutdownTimeout: shutdownTimeout, leaseTTL: leaseTTL,
            scheduleRunner: scheduleRunner, schedulePollInterval: .milliseconds(50))
    }

    /// A runner whose events go to `log`. Not started.
    func makeRunner(
        _ options: TaskRunner.Options = RunnerFixture.options(), clock: @escaping @Sendable () -> Date = { Date() }
    ) -> TaskRunner {
        let runner = TaskRunner(
            store: store, registry: registry, options: options, clock: clock,
            logger: Logger(label: "smrt.runner.test", factory: { _ in SwiftLogNoOpLogHandler() }))
        runner.on { [log] in log.append($0) }
        runners.append(runner)
        return runner
    }

    func stopAll() async {
        for runner in runners { await runner.stop() }
        for queue in queues { await queue.close() }
    }

    /// An async `JobQueue` on the fixture's database (its own connection); closed by `run`.
    func makeQueue() async throws -> JobQueue {
        let queue = try await JobQueue(backend: SQLiteBackend(path: store.path))
        queues.append(queue)
        return queue
    }

    @discardableResult
    func enqueue(
        _ method: String, args: [String: JSONValue] = [:], objectType: String = "Work", priority: Int = 50,
        maxAttempts: Int = 3, timeout: Int = 300_000, timeoutBehavior: TimeoutBehavior = .fail,
        retryStrategy: RetryStrategy = .linear(delay: 0), runAt: Date? = nil
    ) throws -> SmrtJob {
        try store.enqueue(
            JobSpec(
                objectType: objectType, method: method, args: args, priority: priority, runAt: runAt,
                maxAttempts: maxAttempts,
                timeout: timeout, timeoutBehavior: timeoutBehavior, retryStrategy: retryStrategy),
            now: Date())
    }

    func job(_ id: Int64) throws -> SmrtJob { try #require(try store.get(id: id)) }

    /// Polls `condition` every 10 ms until it holds; records an issue and throws after `timeout`. The
    /// timeout is generous because other suites in the same process may block the cooperative pool for seconds.
    func eventually(
        _ what: String, timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () throws -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while try !condition() {
            if clock.now >= deadline {
                Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the job reaches `status`.
    func waitFor(_ id: Int64, _ status: JobStatus, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await eventually("job \(id) \(status.rawValue)", sourceLocation: sourceLocation) {
            try store.get(id: id)?.status == status
        }
    }
}
