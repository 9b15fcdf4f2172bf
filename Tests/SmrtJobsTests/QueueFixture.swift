import Foundation
import SmrtJobsConformance
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// A SQLite backend that counts the change signals it makes and how often they are started and stopped, or
/// makes signals that cannot start (`signals: false`).
final class CountingBackend: JobBackend {
    struct Counts: Equatable {
        var made = 0
        var started = 0
        var stopped = 0
    }

    let base: SQLiteBackend
    let signals: Bool
    let counts = Locked(Counts())

    init(path: String, signals: Bool = true) {
        base = SQLiteBackend(path: path)
        self.signals = signals
    }

    var displayName: String { base.displayName }
    func openStore(_ access: StoreAccess) throws -> any JobStore & ScheduleStore { try base.openStore(access) }
    func checkHealth() -> String? { base.checkHealth() }

    func makeChangeSignal() throws -> any ChangeSignal {
        counts.withLock { $0.made += 1 }
        return CountingSignal(base: try base.makeChangeSignal(), counts: counts, canStart: signals)
    }

    var snapshot: Counts { counts.withLock { $0 } }
}

final class CountingSignal: ChangeSignal {
    let base: any ChangeSignal
    let counts: Locked<CountingBackend.Counts>
    let canStart: Bool

    init(base: any ChangeSignal, counts: Locked<CountingBackend.Counts>, canStart: Bool) {
        self.base = base
        self.counts = counts
        self.canStart = canStart
    }

    func start(onChange: @escaping @Sendable () -> Void) throws {
        guard canStart else { throw SmrtJobsError.database(kind: .other, message: "watching is impossible here") }
        counts.withLock { $0.started += 1 }
        try base.start(onChange: onChange)
    }

    func setActive(_ active: Bool) { base.setActive(active) }

    func stop() {
        counts.withLock { $0.stopped += 1 }
        base.stop()
    }
}

/// A database in a temporary directory, queues on it (closed by `run`), and a second connection that plays
/// another process.
final class QueueFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    let path: String
    /// Another connection to the same database, as a worker in another process would have.
    let other: SQLiteJobStore
    private var queues: [JobQueue] = []

    private init() throws {
        directory = try TemporaryDirectory(prefix: "smrt-queue-test")
        path = directory.path("jobs.sqlite")
        other = try SQLiteJobStore(path: path)
    }

    static func run(_ body: (QueueFixture) async throws -> Void) async throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        do {
            try await body(fixture)
        } catch {
            await fixture.closeAll()
            throw error
        }
        await fixture.closeAll()
    }

    func makeQueue(_ backend: (any JobBackend)? = nil) async throws -> JobQueue {
        let queue = try await JobQueue(backend: backend ?? SQLiteBackend(path: path))
        queues.append(queue)
        return queue
    }

    func closeAll() async {
        for queue in queues { await queue.close() }
    }

    /// Claims the jobs on the other connection and completes each with `result` (two commits each).
    func completeElsewhere(_ ids: Int64..., result: JSONValue = 7) throws {
        let claimed = try other.claim(workerId: "elsewhere", limit: 100, queues: nil, now: Date())
        #expect(Set(ids).isSubset(of: claimed.map(\.id)))
        for id in ids { #expect(try other.complete(id: id, workerId: "elsewhere", result: result) == .completed) }
    }

    /// Polls `condition` every 5 ms until it holds; records an issue and throws after `timeout`.
    /// Deadlines are generous: sync tests elsewhere in the run (processes, CLI runs) can hold both threads of the
    /// cooperative pool for many seconds, delaying these async checks without anything being wrong.
    func eventually(
        _ what: String, timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while try !condition() {
            if ContinuousClock.now >= deadline {
                Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
