import Foundation
import SmrtJobs
import Testing

/// What the dashboard and the supervisor's progress reports need (`MonitoringStore`): progress, the worker pid
/// and exit of the last attempt, the group commit with progress, the supervisors' snapshots in their lease rows,
/// finished jobs per minute. Job pages: `StoreConformance+JobPages.swift`.
extension StoreConformance {
    static let monitoringChecks: [ConformanceCheck] = [
        ConformanceCheck("progressIsStoredOnlyWhileRunningUnderItsWorker", progressIsStoredOnlyWhileRunningUnderItsWorker),
        ConformanceCheck("progressIsClearedByTheNextClaimAndByRetry", progressIsClearedByTheNextClaimAndByRetry),
        ConformanceCheck("finishWritesTheWorkerPidAndExit", finishWritesTheWorkerPidAndExit),
        ConformanceCheck("finishWithProgressThenClaimIsOneUnit", finishWithProgressThenClaimIsOneUnit),
        ConformanceCheck("supervisorSnapshotsRoundTripInTheLeaseRow", supervisorSnapshotsRoundTripInTheLeaseRow),
        ConformanceCheck("unreadableSnapshotsReadAsNone", unreadableSnapshotsReadAsNone),
        ConformanceCheck("finishedPerMinuteBucketsByUTCMinute", finishedPerMinuteBucketsByUTCMinute),
    ]

    /// The store as a `MonitoringStore` (every store of this package is one).
    static func monitoring(_ store: StoreFactory.Store) throws -> any MonitoringStore {
        try #require(store as? any MonitoringStore, "\(type(of: store)) is not a MonitoringStore")
    }

    static func progress(_ fraction: Double, _ message: String?, at date: Date) -> JobProgress {
        JobProgress(fraction: fraction, message: message, updatedAt: date)
    }

    static func progressIsStoredOnlyWhileRunningUnderItsWorker(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            let ids = try store.enqueue(batch: [spec("A"), spec("B"), spec("C")], now: t0)
            #expect(try store.claim(workerId: "w", limit: 2, queues: nil, now: t0).map(\.id) == [ids[0], ids[1]])
            #expect(try monitor.recordProgress([], workerId: "w") == 0)
            let message = "page 21 of 50 — \"ünïcode\" <b>"
            let stored = try monitor.recordProgress(
                [
                    ProgressUpdate(jobId: ids[0], progress: progress(0.25, "first", at: t0 + 1)),
                    ProgressUpdate(jobId: ids[1], progress: progress(0.5, nil, at: t0 + 1)),
                    ProgressUpdate(jobId: ids[2], progress: progress(0.5, "pending", at: t0 + 1)),  // not running
                    ProgressUpdate(jobId: 999_999, progress: progress(0.5, "no such job", at: t0 + 1)),
                    ProgressUpdate(jobId: ids[0], progress: progress(0.42, message, at: t0 + 2)),  // the last one wins
                ], workerId: "w")
            #expect(stored == 2, "a job named twice is counted once")
            #expect(try store.get(id: ids[0])?.progress == progress(0.42, message, at: t0 + 2))
            #expect(try store.get(id: ids[1])?.progress == progress(0.5, nil, at: t0 + 1))
            #expect(try store.get(id: ids[2])?.progress == nil)
            // Another worker's report is not stored.
            #expect(try monitor.recordProgress([ProgressUpdate(jobId: ids[0], progress: progress(0.9, "x", at: t0 + 3))], workerId: "other") == 0)
            #expect(try store.get(id: ids[0])?.progress?.fraction == 0.42)
            // The bounds of the range are kept exactly; progress changes nothing else of the job.
            let before = try #require(try store.get(id: ids[1]))
            #expect(try monitor.recordProgress([ProgressUpdate(jobId: ids[1], progress: progress(1, "done", at: t0 + 4))], workerId: "w") == 1)
            var expected = before
            expected.progress = progress(1, "done", at: t0 + 4)
            #expect(try store.get(id: ids[1]) == expected)
            #expect(try monitor.recordProgress([ProgressUpdate(jobId: ids[1], progress: progress(0, nil, at: t0 + 5))], workerId: "w") == 1)
            #expect(try store.get(id: ids[1])?.progress == progress(0, nil, at: t0 + 5))
            // A finished job keeps its last progress and takes no more.
            #expect(try store.complete(id: ids[0], workerId: "w", now: t0 + 6) == .completed)
            #expect(try monitor.recordProgress([ProgressUpdate(jobId: ids[0], progress: progress(0.1, nil, at: t0 + 7))], workerId: "w") == 0)
            #expect(try store.get(id: ids[0])?.progress == progress(0.42, message, at: t0 + 2))
        }
    }

    static func progressIsClearedByTheNextClaimAndByRetry(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            let job = try store.enqueue(spec(maxAttempts: 2), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            try monitor.recordProgress([ProgressUpdate(jobId: job.id, progress: progress(0.7, "a", at: t0))], workerId: "w")
            #expect(try store.fail(id: job.id, workerId: "w", error: "boom", retryAt: t0 + 1, now: t0 + 1) == .retrying(at: t0 + 1))
            #expect(try store.get(id: job.id)?.progress?.fraction == 0.7, "the last attempt's, until the next one starts")
            let again = try #require(try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0 + 1).first)
            #expect(again.progress == nil)
            #expect(try store.get(id: job.id)?.progress == nil)
            try monitor.recordProgress([ProgressUpdate(jobId: job.id, progress: progress(0.3, "b", at: t0 + 2))], workerId: "w2")
            #expect(try store.fail(id: job.id, workerId: "w2", error: "again", retryAt: nil, now: t0 + 3) == .failed)
            #expect(try store.get(id: job.id)?.progress?.fraction == 0.3)
            let retried = try store.retry(id: job.id, now: t0 + 4)
            #expect(retried.progress == nil && retried.workerPid == nil && retried.workerExit == nil)
            #expect(try store.get(id: job.id)?.progress == nil)
            // The bulk retry clears them too.
            _ = try store.claim(workerId: "w3", limit: 1, queues: nil, now: t0 + 4)
            try monitor.recordProgress([ProgressUpdate(jobId: job.id, progress: progress(0.9, nil, at: t0 + 5))], workerId: "w3")
            _ = try store.finish(
                [AttemptReport(jobId: job.id, outcome: .failed(error: "x", retryAt: nil), workerPid: 7, workerExit: "exit code 1")],
                workerId: "w3", now: t0 + 5)
            let bulk = try store.retryJobs(matching: JobFilter(statuses: [.failed]), limit: 10, now: t0 + 6, dryRun: false)
            #expect(bulk.ids == [job.id])
            let bulkRetried = try #require(try store.get(id: job.id))
            #expect(bulkRetried.progress == nil && bulkRetried.workerPid == nil && bulkRetried.workerExit == nil)
        }
    }

    static func finishWritesTheWorkerPidAndExit(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let ids = try store.enqueue(batch: [spec("A"), spec("B", maxAttempts: 3), spec("C"), spec("D")], now: t0)
            _ = try store.claim(workerId: "w", limit: 4, queues: nil, now: t0)
            let results = try store.finish(
                [
                    AttemptReport(jobId: ids[0], outcome: .completed(result: 1), workerPid: 4242, workerExit: "returned a result"),
                    AttemptReport(
                        jobId: ids[1], outcome: .failed(error: "killed", retryAt: t0 + 10), workerPid: 4243,
                        workerExit: "killed at its 1500 ms timeout"),
                    AttemptReport(jobId: ids[2], outcome: .failed(error: "crash", retryAt: nil), workerPid: Int32.max, workerExit: "killed by signal 11"),
                    AttemptReport(jobId: ids[3], outcome: .completed(result: nil)),  // an in-process runner: no process
                ], workerId: "w", now: t0 + 1)
            #expect(results == [.completed, .retrying(at: t0 + 10), .failed, .completed])
            let a = try #require(try store.get(id: ids[0]))
            #expect(a.workerPid == 4242 && a.workerExit == "returned a result")
            let b = try #require(try store.get(id: ids[1]))
            #expect(b.status == .pending && b.workerPid == 4243 && b.workerExit == "killed at its 1500 ms timeout")
            let c = try #require(try store.get(id: ids[2]))
            #expect(c.workerPid == Int32.max && c.workerExit == "killed by signal 11")
            let d = try #require(try store.get(id: ids[3]))
            #expect(d.workerPid == nil && d.workerExit == nil)
            // A report that is not owned writes nothing.
            #expect(
                try store.finish([AttemptReport(jobId: ids[0], outcome: .completed(result: 2), workerPid: 1, workerExit: "late")], workerId: "w", now: t0 + 2)
                    == [.notOwned])
            #expect(try store.get(id: ids[0])?.workerPid == 4242)
            // The next attempt keeps the last one's until it ends; a recovery writes its reason and no pid.
            let again = try #require(try store.claim(workerId: "w2", limit: 1, queues: nil, now: t0 + 10).first)
            #expect(again.id == ids[1] && again.workerPid == 4243 && again.workerExit == "killed at its 1500 ms timeout")
            let recovered = try #require(
                try store.recoverJobs(ofDeadOwner: "w2", leaseAsJudged: .noRow, reason: "supervisor w2 died", now: t0 + 11) { _ in
                    t0 + 20
                })
            #expect(recovered.map(\.result) == [.retrying(at: t0 + 20)])
            #expect(recovered.first?.job.workerExit == "supervisor w2 died" && recovered.first?.job.workerPid == nil)
            let b2 = try #require(try store.get(id: ids[1]))
            #expect(b2.workerPid == nil && b2.workerExit == "supervisor w2 died")
            // The same through a recovery by stale heartbeat.
            _ = try store.claim(workerId: "w3", limit: 1, queues: nil, now: t0 + 20)
            _ = try store.recoverJobs(heartbeatBefore: t0 + 30, reason: "heartbeat stale", now: t0 + 31) { _ in nil }
            let b3 = try #require(try store.get(id: ids[1]))
            #expect(b3.status == .failed && b3.workerExit == "heartbeat stale" && b3.workerPid == nil)
        }
    }

    static func finishWithProgressThenClaimIsOneUnit(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let monitor = try monitoring(store)
            let ids = try store.enqueue(batch: [spec("A"), spec("B"), spec("C")], now: t0)
            _ = try store.claim(workerId: "w", limit: 2, queues: nil, now: t0)  // A and B
            let (finished, claimed) = try monitor.finish(
                [AttemptReport(jobId: ids[0], outcome: .completed(result: "ok"), workerPid: 11, workerExit: "returned a result")],
                recordingProgress: [
                    ProgressUpdate(jobId: ids[0], progress: progress(1, "all pages", at: t0 + 1)),  // then it completes
                    ProgressUpdate(jobId: ids[1], progress: progress(0.5, "half", at: t0 + 1)),
                    ProgressUpdate(jobId: ids[2], progress: progress(0.5, "not yet claimed", at: t0 + 1)),
                ],
                workerId: "w", now: t0 + 1, thenClaim: 5, queues: nil)
            #expect(finished == [.completed])
            #expect(claimed.map(\.id) == [ids[2]])
            #expect(claimed.first?.progress == nil, "progress came first: C was pending then, and its claim starts clean")
            let a = try #require(try store.get(id: ids[0]))
            #expect(a.status == .completed && a.progress == progress(1, "all pages", at: t0 + 1) && a.workerPid == 11)
            #expect(try openPeer().get(id: ids[1])?.progress == progress(0.5, "half", at: t0 + 1), "committed for other connections")
            // Progress alone, nothing to finish or claim.
            let alone = try monitor.finish(
                [], recordingProgress: [ProgressUpdate(jobId: ids[1], progress: progress(0.75, nil, at: t0 + 2))], workerId: "w",
                now: t0 + 2, thenClaim: 0, queues: nil)
            #expect(alone.finished.isEmpty && alone.claimed.isEmpty)
            #expect(try store.get(id: ids[1])?.progress == progress(0.75, nil, at: t0 + 2))
            // Without progress it is the plain finish-then-claim.
            let plain = try monitor.finish(
                [AttemptReport(jobId: ids[1], outcome: .failed(error: "e", retryAt: nil))], recordingProgress: [], workerId: "w",
                now: t0 + 3, thenClaim: 1, queues: nil)
            #expect(plain.finished == [.failed] && plain.claimed.isEmpty)
            #expect(try store.get(id: ids[1])?.progress == progress(0.75, nil, at: t0 + 2))
        }
    }

    /// `t0` plus whole milliseconds, as a stored date reads back (`t0 + 0.123` is another `Double`).
    static func t0(ms: Int64) -> Date { Date(timeIntervalSince1970: Double(1_800_000_000_000 + ms) / 1000) }

    /// A snapshot with every field set, dates whole milliseconds (what stores keep).
    static func sampleSnapshot() -> SupervisorSnapshot {
        var duration = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds)
        for value in [0.003, 0.2, 0.2, 7, 5000] { duration.record(value) }
        var wait = HistogramSnapshot(bounds: HistogramSnapshot.durationBounds)
        wait.record(0.0125)
        var lateness = HistogramSnapshot(bounds: HistogramSnapshot.latenessBounds)
        lateness.record(0.0031)
        return SupervisorSnapshot(
            takenAt: t0(ms: 123), configuredWorkers: 2, queues: ["default", "mail \"eu\""],
            workers: [
                WorkerSnapshot(
                    pid: 4242, state: "busy", rssBytes: 52_428_800, jobId: 17, jobLabel: "Report#r-1.build()",
                    jobStartedAt: t0(ms: -1_500), jobsDone: 9, startedAt: t0 - 60),
                WorkerSnapshot(pid: 4243, state: "idle", startedAt: t0(ms: -59_999)),
            ],
            finished: [
                FinishedCount(queue: "default", type: "Report", outcome: .completed, count: 9),
                FinishedCount(queue: "mail \"eu\"", type: "Mailer", outcome: .retried, count: 2),
            ],
            workerExits: ["timeout_kill": 1, "recycled": 3], jobsPruned: 500, jobDuration: duration, queueWait: wait,
            killLateness: lateness)
    }

    static func supervisorSnapshotsRoundTripInTheLeaseRow(_ factory: StoreFactory) throws {
        try factory.withStore { store, openPeer in
            let snapshot = sampleSnapshot()
            let a = WorkerRecord(id: "sup-a", pid: 100, host: "h1", startedAt: t0, heartbeat: t0, expiresAt: t0 + 30, stats: snapshot)
            let b = WorkerRecord(id: "sup-b", pid: 200, host: "h2", startedAt: t0, heartbeat: t0)  // a TaskRunner: none
            try store.registerWorker(a)
            try store.registerWorker(b)
            #expect(try store.listWorkers() == [a, b])
            #expect(try openPeer().listWorkers().first?.stats == snapshot)
            // A renewal without a snapshot keeps the last one; a registration replaces it (nil removes it).
            try store.heartbeatWorker(id: "sup-a", now: t0 + 10, expiresAt: t0 + 40)
            #expect(try store.listWorkers().first?.stats == snapshot)
            var later = snapshot
            later.takenAt = t0 + 20
            later.jobsPruned = 501
            later.workers = []
            try store.registerWorker(WorkerRecord(id: "sup-a", pid: 100, host: "h1", startedAt: t0, heartbeat: t0 + 20, stats: later))
            #expect(try store.listWorkers().first?.stats == later)
            try store.registerWorker(WorkerRecord(id: "sup-a", pid: 100, host: "h1", startedAt: t0, heartbeat: t0 + 30))
            #expect(try store.listWorkers().first?.stats == nil)
            // One of a newer layout than this library knows reads as none, and hides no other row.
            var newer = snapshot
            newer.version = SupervisorSnapshot.currentVersion + 1
            try store.registerWorker(WorkerRecord(id: "sup-c", pid: 300, host: "h3", startedAt: t0, heartbeat: t0, stats: newer))
            let workers = try store.listWorkers()
            #expect(workers.map(\.id) == ["sup-a", "sup-b", "sup-c"])
            #expect(workers.last?.stats == nil)
        }
    }

    /// Rows the store did not write: text that is not a snapshot reads as none, never as an error (backends with
    /// SQL; the memory store cannot hold such a row).
    static func unreadableSnapshotsReadAsNone(_ factory: StoreFactory) throws {
        guard let executeSQL = factory.executeSQL else { return }
        try factory.withStore { store, _ in
            let good = WorkerRecord(id: "good", pid: 1, host: "h", startedAt: t0, heartbeat: t0, stats: sampleSnapshot())
            try store.registerWorker(good)
            for (index, text) in [#"{"version":1}"#, "[1,2]", #""text""#, #"{"version":"one"}"#, #"{"version":99,"x":1}"#].enumerated() {
                try store.registerWorker(WorkerRecord(id: "bad\(index)", pid: 2, host: "h", startedAt: t0, heartbeat: t0))
                try executeSQL(store, "UPDATE _smrt_workers SET stats = '\(text.replacingOccurrences(of: "'", with: "''"))' WHERE id = 'bad\(index)'")
            }
            let workers = try store.listWorkers()
            #expect(workers.count == 6)
            #expect(workers.first { $0.id == "good" }?.stats == sampleSnapshot())
            for worker in workers where worker.id != "good" { #expect(worker.stats == nil, "\(worker.id)") }
        }
    }

    static func finishedPerMinuteBucketsByUTCMinute(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            #expect(try monitor.finishedPerMinute(since: t0 - 3600).isEmpty)
            // t0 is a whole UTC minute. Each job ends at the given offset: completed, failed for good, retried
            // (not finished), cancelled (not counted).
            let plan: [(offset: TimeInterval, ending: String)] = [
                (-60.001, "completed"),  // the minute before since's minute: cut by since anyway
                (-0.001, "completed"), (-0.001, "failed"),  // t0 - 1 minute's bucket
                (0, "completed"), (0.5, "completed"), (59.999, "failed"), (30, "retried"), (30, "cancelled"),
                (60, "completed"), (179.999, "failed"),
            ]
            let ids = try store.enqueue(batch: plan.map { _ in spec(maxAttempts: 3) }, now: t0 - 120)
            _ = try store.claim(workerId: "w", limit: plan.count, queues: nil, now: t0 - 120)
            for (id, step) in zip(ids, plan) {
                let at = t0 + step.offset
                switch step.ending {
                case "completed": _ = try store.complete(id: id, workerId: "w", now: at)
                case "failed": _ = try store.fail(id: id, workerId: "w", error: "e", retryAt: nil, now: at)
                case "retried": _ = try store.fail(id: id, workerId: "w", error: "e", retryAt: t0 + 3600, now: at)
                default: _ = try store.cancel(id: id, now: at)
                }
            }
            let since = t0 - 30
            #expect(
                try monitor.finishedPerMinute(since: since) == [
                    MinuteTally(minute: t0 - 60, completed: 1, failed: 1),
                    MinuteTally(minute: t0, completed: 2, failed: 1),
                    MinuteTally(minute: t0 + 60, completed: 1, failed: 0),
                    MinuteTally(minute: t0 + 120, completed: 0, failed: 1),
                ])
            // `since` cuts inside a minute: t0 + 0.5 and later only.
            #expect(
                try monitor.finishedPerMinute(since: t0 + 0.5) == [
                    MinuteTally(minute: t0, completed: 1, failed: 1),
                    MinuteTally(minute: t0 + 60, completed: 1, failed: 0),
                    MinuteTally(minute: t0 + 120, completed: 0, failed: 1),
                ])
            #expect(try monitor.finishedPerMinute(since: t0 + 180).isEmpty)
            #expect(try monitor.finishedPerMinute(since: t0 - 3600).first == MinuteTally(minute: t0 - 120, completed: 1, failed: 0))
        }
    }
}
