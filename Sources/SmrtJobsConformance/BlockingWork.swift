import Foundation

/// Runs blocking test work (store calls to a database server, processes) on threads of its own instead of the
/// cooperative pool, as a task executor preference: the work keeps its task (and so the current test, for
/// `#expect` and `Issue.record`), while the pool's few threads (one per core) stay free for the async tests
/// that run meanwhile and would otherwise miss their deadlines.
///
/// ```swift
/// @Test func conformance(_ check: ConformanceCheck, _ factory: StoreFactory) async throws {
///     try await BlockingWork.run { try check.run(factory) }
/// }
/// ```
public enum BlockingWork {
    /// Runs `body` on one of the executor's threads.
    public static func run<T: Sendable>(_ body: @Sendable () throws -> T) async throws -> T {
        try await withTaskExecutorPreference(executor) { try body() }
    }

    /// Shared by every caller: four threads, more than blocking tests on two cores can keep busy.
    static let executor = BlockingThreadsExecutor(threads: 4)
}

/// A task executor with a fixed set of threads taking jobs from one queue.
final class BlockingThreadsExecutor: TaskExecutor, @unchecked Sendable {  // `jobs` under `condition`
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in serve() }
            thread.name = "blocking-test-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
