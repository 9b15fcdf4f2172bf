import Foundation
import SmrtJobs

/// Job state transitions: enqueue, claim, finish, release, cancel, retry, heartbeat, recovery. Each is the
/// SQLite store's conditional UPDATE written out: it changes a job only in the state (and under the owner) the
/// statement's WHERE names.
extension MemoryJobStore {
    public func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob {
        if spec.uniqueKey != nil { return try enqueueReportingExisting(spec, now: now).job }
        try spec.validate()
        let now = Self.stored(now)
        return try database.write { tables in Self.insert(spec, now: now, &tables) }
    }

    public func enqueue(batch: [JobSpec], now: Date) throws -> [Int64] {
        if batch.contains(where: { $0.uniqueKey != nil }) {
            return try enqueueReportingExisting(batch: batch, now: now).map(\.id)
        }
        // Validate everything first: a bad spec must not leave half a batch behind.
        for spec in batch { try spec.validate() }
        if batch.isEmpty { return [] }
        let now = Self.stored(now)
        return try database.write { tables in batch.map { Self.insert($0, now: now, &tables).id } }
    }

    static func insert(_ spec: JobSpec, now: Date, _ tables: inout MemoryTables) -> SmrtJob {
        tables.insertJob { id in
            SmrtJob(
                id: id, tenantId: spec.tenantId, queue: spec.queue, objectType: spec.objectType, objectId: spec.objectId,
                method: spec.method, args: spec.args, runAt: stored(spec.runAt ?? now), priority: spec.priority,
                status: .pending, attempts: 0, maxAttempts: spec.maxAttempts, timeout: spec.timeout,
                timeoutBehavior: spec.timeoutBehavior, resultPointer: spec.resultPointer, retryStrategy: spec.retryStrategy,
                createdAt: now, updatedAt: now, uniqueKey: spec.uniqueKey)
        }
    }

    public func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        if limit <= 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        let now = Self.stored(now)
        return try database.write { tables in Self.claim(workerId: workerId, limit: limit, queues: queues, now: now, &tables) }
    }

    /// Takes at most `limit` ready jobs from the front of each queue's claim order, then the first `limit` of
    /// those: a walk that stops early, as the SQLite store's walk of its claim index does.
    static func claim(
        workerId: String, limit: Int, queues: [String]?, now: Date, _ tables: inout MemoryTables
    ) -> [SmrtJob] {
        if limit <= 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        let names = queues.map { Array(Set($0)) } ?? Array(tables.pending.keys)
        let plan = queuePlan(tables)  // nil: no queue is paused or limited
        var candidates: [ClaimKey] = []
        for name in names {
            guard let list = tables.pending[name], plan?.excluded.contains(name) != true else { continue }
            let most = min(limit, plan?.budgets[name] ?? limit)
            var taken = 0
            for key in list where key.runAt <= now {
                candidates.append(key)
                taken += 1
                if taken == most { break }
            }
        }
        candidates.sort()
        return candidates.prefix(limit).map { key in
            guard var job = tables.jobs[key.id] else { preconditionFailure("pending index names missing job \(key.id)") }
            job.status = .running
            job.workerId = workerId
            job.workerHeartbeat = now
            job.startedAt = now
            job.attempts += 1
            job.updatedAt = now
            // A new attempt starts without progress; the last one's worker pid and exit stay until it finishes.
            job.progress = nil
            tables.updateJob(job)
            return job
        }
    }

    public func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult] {
        if reports.isEmpty { return [] }
        let now = Self.stored(now)
        return try database.write { tables in Self.finish(reports, workerId: workerId, now: now, &tables) }
    }

    /// One transaction: the results, then the claim.
    public func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        if reports.isEmpty && limit <= 0 { return ([], []) }
        let now = Self.stored(now)
        return try database.write { tables in
            let finished = Self.finish(reports, workerId: workerId, now: now, &tables)
            let claimed = Self.claim(workerId: workerId, limit: limit, queues: queues, now: now, &tables)
            return (finished, claimed)
        }
    }

    static func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, _ tables: inout MemoryTables
    ) -> [FinishResult] {
        reports.map { report in
            guard var job = tables.jobs[report.jobId], job.status == .running, job.workerId == workerId else {
                return .notOwned
            }
            if let startedAt = report.startedAt { job.startedAt = stored(startedAt) }
            job.workerPid = report.workerPid
            job.workerExit = report.workerExit
            switch report.outcome {
            case .completed(let result, let resultPointer):
                job.status = .completed
                job.result = result
                if let resultPointer { job.resultPointer = resultPointer }
                job.completedAt = now
                job.updatedAt = now
                tables.updateJob(job)
                recordScheduleCompletion(of: job, success: true, message: nil, now: now, &tables)
                return .completed
            case .failed(let error, let retryAt):
                return failAttempt(&job, error: error, retryAt: retryAt, now: now, &tables)
            }
        }
    }

    /// A failed attempt of a running job: back to pending at `retryAt` when given and attempts remain, else
    /// failed for good (and counted on its schedule).
    static func failAttempt(
        _ job: inout SmrtJob, error: String, retryAt: Date?, now: Date, _ tables: inout MemoryTables
    ) -> FinishResult {
        job.lastError = error
        job.updatedAt = now
        if let retryAt, job.attempts < job.maxAttempts {
            job.status = .pending
            job.runAt = stored(retryAt)
            job.completedAt = nil
            job.workerId = nil
            job.workerHeartbeat = nil
            tables.updateJob(job)
            return .retrying(at: job.runAt)
        }
        job.status = .failed
        job.completedAt = now
        tables.updateJob(job)
        recordScheduleCompletion(of: job, success: false, message: error, now: now, &tables)
        return .failed
    }

    @discardableResult
    public func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int {
        if jobIds.isEmpty { return 0 }
        let now = Self.stored(now)
        return try database.write { tables in
            var released = 0
            for id in jobIds {
                guard var job = tables.jobs[id], job.status == .running, job.workerId == workerId else { continue }
                job.status = .pending
                job.attempts = max(job.attempts - 1, 0)
                job.workerId = nil
                job.workerHeartbeat = nil
                job.startedAt = nil
                job.updatedAt = now
                tables.updateJob(job)
                released += 1
            }
            return released
        }
    }

    public func cancel(id: Int64, now: Date) throws -> SmrtJob {
        let now = Self.stored(now)
        return try database.write { tables in
            guard var job = tables.jobs[id] else { throw SmrtJobsError.jobNotFound(id) }
            let before = job.status
            guard before == .pending || before == .running || before == .failed else {
                throw SmrtJobsError.invalidTransition(jobId: id, from: before, action: "cancel")
            }
            job.status = .cancelled
            job.completedAt = now
            job.updatedAt = now
            tables.updateJob(job)
            // A job that never finished holds one of its schedule's max_concurrent slots: free it. (A failed job
            // was counted when it failed.)
            if before == .pending || before == .running {
                Self.recordScheduleCompletion(of: job, success: false, message: "cancelled", now: now, &tables)
            }
            return job
        }
    }

    public func retry(id: Int64, now: Date) throws -> SmrtJob {
        let now = Self.stored(now)
        return try database.write { tables in
            guard var job = tables.jobs[id] else { throw SmrtJobsError.jobNotFound(id) }
            guard job.status != .completed else {
                throw SmrtJobsError.invalidTransition(jobId: id, from: job.status, action: "retry")
            }
            if let key = job.uniqueKey, let holder = tables.activeUniqueKeys[key], holder != id {
                throw SmrtJobsError.uniqueKeyHeld(jobId: id, key: key, heldBy: holder)
            }
            job.status = .pending
            job.attempts = 0
            job.runAt = now
            job.lastError = nil
            job.startedAt = nil
            job.completedAt = nil
            job.workerId = nil
            job.workerHeartbeat = nil
            job.updatedAt = now
            job.progress = nil
            job.workerPid = nil
            job.workerExit = nil
            tables.updateJob(job)
            return job
        }
    }

    public func heartbeat(workerId: String, now: Date) throws {
        let now = Self.stored(now)
        try database.write { tables in
            for id in tables.running {
                guard var job = tables.jobs[id], job.workerId == workerId else { continue }
                job.workerHeartbeat = now
                tables.updateJob(job)
            }
        }
    }

    public func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        let now = Self.stored(now)
        return try database.write { tables in
            switch lease {
            case .noRow:
                if tables.workers[ownerId] != nil { return nil }
            case .row(let judged):
                // The SQL stores' millisecond of slack, so every store draws the line at the same place.
                guard let row = tables.workers[ownerId], row.heartbeat <= judged.addingTimeInterval(0.001) else { return nil }
                tables.removeWorker(id: ownerId)
            }
            let owned = tables.running.compactMap { tables.jobs[$0] }.filter { $0.workerId == ownerId }
                .sorted { $0.id < $1.id }
            return Self.recover(owned, reason: reason, now: now, nextRunAt: nextRunAt, &tables)
        }
    }

    public func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        let now = Self.stored(now)
        let cutoff = Self.stored(heartbeatBefore)
        return try database.write { tables in
            let stale = tables.running.compactMap { tables.jobs[$0] }
                .filter { job in job.workerHeartbeat.map { $0 < cutoff } ?? true }
                .sorted { $0.id < $1.id }
            return Self.recover(stale, reason: reason, now: now, nextRunAt: nextRunAt, &tables)
        }
    }

    /// Fails the attempt of each job as its owner would have (the same transition as `finish`), with the retry
    /// time `nextRunAt` picks. The jobs were read completely before any is written.
    private static func recover(
        _ jobs: [SmrtJob], reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?, _ tables: inout MemoryTables
    ) -> [RecoveredJob] {
        var recovered: [RecoveredJob] = []
        for job in jobs {
            let retryAt = nextRunAt(job)
            guard let owner = job.workerId, var current = tables.jobs[job.id], current.status == .running,
                current.workerId == owner
            else { continue }
            // Its process, on a dead owner's host, is not known; the reason says how the attempt ended.
            current.workerPid = nil
            current.workerExit = reason
            let result = failAttempt(&current, error: reason, retryAt: retryAt, now: now, &tables)
            recovered.append(RecoveredJob(job: current, result: result))
        }
        return recovered
    }
}
