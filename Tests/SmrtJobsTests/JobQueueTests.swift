import Foundation
import Testing
@testable import SmrtJobs
@testable import SmrtJobsSQLite

/// An Identifiable type: its jobs are object-bound without any code of its own.
struct QueueTestDocument: BackgroundJobs, Identifiable {
    let id: Int
    let jobQueue: JobQueue
}

/// A type that is not Identifiable: static jobs, under a name of its own.
struct QueueTestReports: BackgroundJobs {
    static var jobTypeName: String { "Reports" }
    let jobQueue: JobQueue
}

/// `JobQueue`, `JobBuilder.enqueue`, `bg()` and `JobHandle`: the async app API.
@Suite struct JobQueueTests {
    // MARK: Enqueueing

    @Test func bgTakesTheBuildersOptionForms() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let doc = QueueTestDocument(id: 42, jobQueue: queue)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let named = try await doc.bg(
                "summarize", args: ["format": "md"], queue: "analysis", priority: "high", delay: "5m", retries: 5,
                timeout: 600_000, now: now)
            let job = try await named.job()
            #expect(job.objectType == "QueueTestDocument" && job.objectId == "42" && job.method == "summarize")
            #expect(job.args == ["format": "md"] && job.queue == "analysis")
            #expect(job.priority == 75 && job.maxAttempts == 5 && job.timeout == 600_000)
            #expect(job.runAt == now.addingTimeInterval(300))

            let typed = try await doc.bg("summarize", priority: 60, delay: .seconds(30), timeout: .seconds(10), now: now)
            let second = try await typed.job()
            #expect(second.priority == 60 && second.timeout == 10_000 && second.runAt == now.addingTimeInterval(30))

            let constant = try await doc.bg("summarize", priority: .critical, delay: JobDuration(.milliseconds(1500)), now: now)
            let third = try await constant.job()
            #expect(third.priority == 100 && third.runAt == now.addingTimeInterval(1.5))

            let reports = QueueTestReports(jobQueue: queue)
            let staticJob = try await reports.bg("build", arguments: ["month": "2026-11"]).job()
            #expect(staticJob.objectType == "Reports" && staticJob.objectId == nil && staticJob.args == ["month": "2026-11"])
        }
    }

    @Test func builderEnqueueMatchesTheSeedsChain() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let handle = try await QueueTestDocument(id: 7, jobQueue: queue).background("m", args: ["k": 1])
                .delay("5m").priority("high").retries(5).queue("analysis").timeout(600_000)
                .enqueue(now: now)
            let job = try #require(try f.other.get(id: handle.id))
            #expect(job.runAt == now.addingTimeInterval(300) && job.priority == 75 && job.maxAttempts == 5)
            #expect(job.queue == "analysis" && job.timeout == 600_000 && job.objectId == "7")
        }
    }

    @Test(arguments: [
        ("priority", "urgent"), ("delay", "5x"), ("timeout", "0"), ("retries", "30"), ("queue", " "),
    ])
    func bgRejectsABadOptionNamingItAndWritesNothing(field: String, value: String) async throws {
        try await QueueFixture.run { f in
            let doc = QueueTestDocument(id: 1, jobQueue: try await f.makeQueue())
            do {
                switch field {
                case "priority": try await doc.bg("m", priority: JobPriority(value))
                case "delay": try await doc.bg("m", delay: JobDuration(value))
                case "timeout": try await doc.bg("m", timeout: JobDuration(value))
                case "retries": try await doc.bg("m", retries: Int(value))
                default: try await doc.bg("m", queue: value)
                }
                Issue.record("\(field) '\(value)' was accepted")
            } catch let SmrtJobsError.invalidValue(badField, badValue, _) {
                #expect(badField == field && badValue == value)
            }
            #expect(try f.other.stats(queue: nil) == JobStats())
        }
    }

    @Test func batchEnqueueIsAllOrNothing() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let handles = try await queue.enqueue(batch: [queue.background("A", "m"), queue.background("B", "m")])
            #expect(try await handles.asyncMap { try await $0.job().objectType } == ["A", "B"])
            await #expect(throws: SmrtJobsError.self) {
                try await queue.enqueue(batch: [JobSpec(objectType: "C", method: "m"), JobSpec(objectType: "", method: "m")])
            }
            #expect(try await queue.stats().pending == 2)
        }
    }

    // MARK: Handles

    @Test func handleReadsCancelsAndRetries() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let handle = try await queue.background("Doc", "run").enqueue()
            #expect(try await handle.status() == .pending)
            #expect(try await handle.isRunning())
            #expect(try await !handle.isDone())
            #expect(try await handle.cancel().status == .cancelled)
            #expect(try await handle.isDone())
            #expect(try await !handle.isRunning())
            await #expect(throws: SmrtJobsError.invalidTransition(jobId: handle.id, from: .cancelled, action: "cancel")) {
                try await handle.cancel()
            }
            #expect(try await handle.retry().status == .pending)
            let missing = queue.handle(id: 999)
            await #expect(throws: SmrtJobsError.jobNotFound(999)) { try await missing.status() }
        }
    }

    @Test func waitOnACancelledJobSaysJobWasCancelled() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let handle = try await queue.background("Doc", "run").enqueue()
            // Failed once, then cancelled: the outcome is the cancellation, not the old error.
            _ = try f.other.claim(workerId: "w", limit: 1, queues: nil, now: Date())
            _ = try f.other.fail(id: handle.id, workerId: "w", error: "boom", retryAt: nil)
            try await handle.cancel()
            let outcome = try await handle.wait(timeout: .seconds(10))
            #expect(outcome == JobOutcome(success: false, status: .cancelled, error: "Job was cancelled"))
        }
    }

    @Test func waitReturnsTheResultOrTheLastError() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let done = try await queue.background("Doc", "run").enqueue()
            try f.completeElsewhere(done.id, result: ["words": 4])
            let outcome = try await done.wait(timeout: .seconds(10))
            #expect(outcome.success && outcome.status == .completed && outcome.error == nil)
            #expect(outcome.result == ["words": 4])

            let failed = try await queue.background("Doc", "run").enqueue()
            _ = try f.other.claim(workerId: "w", limit: 1, queues: nil, now: Date())
            _ = try f.other.fail(id: failed.id, workerId: "w", error: "boom", retryAt: nil)
            #expect(try await failed.wait(timeout: .seconds(10)) == JobOutcome(success: false, status: .failed, error: "boom"))
        }
    }

    @Test func waitTimesOutAndRejectsBadIntervals() async throws {
        try await QueueFixture.run { f in
            let handle = try await f.makeQueue().background("Doc", "run").enqueue()
            await #expect(throws: SmrtJobsError.waitTimeout(jobId: handle.id, milliseconds: 200)) {
                try await handle.wait(timeout: .milliseconds(200), pollInterval: .milliseconds(50))
            }
            await #expect(throws: SmrtJobsError.self) { try await handle.wait(pollInterval: .zero) }
            await #expect(throws: SmrtJobsError.self) { try await handle.wait(timeout: .seconds(-1)) }
        }
    }

    @Test func aCancelledWaitThrowsCancellationError() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let handle = try await queue.background("Doc", "run").enqueue()
            let waiting = Task { try await handle.wait(timeout: .seconds(60), pollInterval: .seconds(30)) }
            try await f.eventually("the waiter is parked") { queue.changes.parkedCount == 1 }
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(queue.changes.listenerCount == 0)
        }
    }

    // MARK: Waking on the change signal

    @Test func waitWakesOnTheChangeSignalNotOnItsPoll() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let handle = try await queue.background("Doc", "run").enqueue()
            let started = ContinuousClock.now
            // The poll comes after 45 s: a wait that ends well before it was woken by the change signal. (Not
            // a few ms: tests that block the two cooperative threads with processes can delay the resumed task
            // by seconds.)
            async let outcome = handle.wait(timeout: .seconds(60), pollInterval: .seconds(45))
            try await f.eventually("the waiter is parked on a running signal") {
                queue.changes.isSignalRunning && queue.changes.parkedCount == 1
            }
            try f.completeElsewhere(handle.id)
            #expect(try await outcome.success)
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(30), "took \(elapsed)")
        }
    }

    @Test func oneSignalPerQueueFansOutToEveryWaiterAndStopsOnce() async throws {
        try await QueueFixture.run { f in
            let backend = CountingBackend(path: f.path)
            let queue = try await f.makeQueue(backend)
            #expect(backend.snapshot == CountingBackend.Counts(), "started lazily, by the first wait")
            let handles = try await queue.enqueue(batch: (0..<3).map { _ in JobSpec(objectType: "Doc", method: "run") })
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for handle in handles {
                    group.addTask { try await handle.wait(timeout: .seconds(60), pollInterval: .seconds(45)).success }
                }
                try await f.eventually("three parked waiters") { queue.changes.parkedCount == 3 }
                try f.completeElsewhere(handles[0].id, handles[1].id, handles[2].id)
                for try await success in group { #expect(success) }
            }
            #expect(ContinuousClock.now - started < .seconds(30), "woken by the signal, not the 45 s poll")
            // A later wait reuses the signal.
            let late = try await queue.background("Doc", "run").enqueue()
            try f.completeElsewhere(late.id)
            #expect(try await late.wait(timeout: .seconds(30)).success)
            #expect(backend.snapshot == CountingBackend.Counts(made: 1, started: 1, stopped: 0))
            await queue.close()
            await queue.close()
            #expect(backend.snapshot == CountingBackend.Counts(made: 1, started: 1, stopped: 1))
            #expect(queue.isClosed)
        }
    }

    @Test func withoutASignalWaitFallsBackToItsPoll() async throws {
        try await QueueFixture.run { f in
            let backend = CountingBackend(path: f.path, signals: false)
            let queue = try await f.makeQueue(backend)
            let handle = try await queue.background("Doc", "run").enqueue()
            async let outcome = handle.wait(timeout: .seconds(60), pollInterval: .milliseconds(50))
            try await f.eventually("the waiter is parked") { queue.changes.parkedCount == 1 }
            try f.completeElsewhere(handle.id)
            #expect(try await outcome.success)
            #expect(!queue.changes.isSignalRunning)
            // The signal that could not start was stopped; none is left to stop at close.
            await queue.close()
            #expect(backend.snapshot == CountingBackend.Counts(made: 1, started: 0, stopped: 1))
        }
    }

    // MARK: Closing

    @Test func closeEndsWaitsAndLaterCalls() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            let handle = try await queue.background("Doc", "run").enqueue()
            let waiting = Task { try await handle.wait(timeout: .seconds(60), pollInterval: .seconds(30)) }
            try await f.eventually("the waiter is parked") { queue.changes.parkedCount == 1 }
            await queue.close()
            do {
                _ = try await waiting.value
                Issue.record("the wait went on after close")
            } catch SmrtJobsError.closed(let what) {
                #expect(what.contains(f.path))
            }
            await #expect(throws: SmrtJobsError.self) { try await queue.background("Doc", "run").enqueue() }
            #expect(queue.isClosed)
        }
    }

    @Test func aQueueReleasedWithoutCloseStopsItsThreadAndSignal() async throws {
        try await QueueFixture.run { f in
            let backend = CountingBackend(path: f.path)
            var executor: StoreExecutor<any JobStore & ScheduleStore>?
            do {
                let queue = try await JobQueue(backend: backend)
                executor = queue.executor
                let handle = try await queue.background("Doc", "run").enqueue()
                _ = try? await handle.wait(timeout: .milliseconds(100), pollInterval: .milliseconds(20))
                #expect(backend.snapshot.started == 1)
            }
            try await f.eventually("thread ended and signal stopped") {
                executor?.isClosed == true && backend.snapshot.stopped == 1
            }
        }
    }

    // MARK: Off the cooperative pool

    @Test func storeCallsRunOnTheQueuesThread() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue()
            // The kernel's name of the thread the call ran on (the pool's threads are named after dispatch).
            let name = try await queue.withStore { _ in
                try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            }
            #expect(name == "smrt-queue\n")
        }
    }

    /// While another connection holds the write lock, enqueues wait in SQLite's busy handler; more of them
    /// than the pool has threads must not stop other tasks from running meanwhile.
    @Test func callsBlockedOnALockLeaveThePoolFree() async throws {
        try await QueueFixture.run { f in
            let queue = try await f.makeQueue(SQLiteBackend(path: f.path, options: .init(busyTimeoutMs: 30_000)))
            let lock = try WriteLockHolder(path: f.path)
            // Whatever happens below, the lock goes within 15 s (from a thread outside the pool).
            DispatchQueue.global().asyncAfter(deadline: .now() + 15) { lock.release() }
            let finished = Locked(0)
            let enqueues = (0..<(ProcessInfo.processInfo.activeProcessorCount * 2 + 2)).map { _ in
                Task {
                    _ = try await queue.background("Doc", "run").enqueue()
                    finished.withLock { $0 += 1 }
                }
            }
            for _ in 0..<5 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(finished.withLock { $0 } == 0, "the sleeps above ran while every enqueue still waited for the lock")
            lock.release()
            for task in enqueues { try await task.value }
            #expect(try await queue.stats().pending == enqueues.count)
        }
    }
}

/// Another connection's write lock, held from creation until `release()` (once, from any thread).
final class WriteLockHolder: @unchecked Sendable {  // the connection is used under `released`'s lock only
    private let connection: SQLiteConnection
    private let released = Locked(false)

    init(path: String) throws {
        connection = try SQLiteConnection(path: path)
        try connection.exec("BEGIN IMMEDIATE")
    }

    func release() {
        released.withLock { done in
            if !done { try? connection.exec("ROLLBACK") }
            done = true
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
