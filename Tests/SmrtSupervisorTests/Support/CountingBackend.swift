import Foundation
import SmrtJobs

/// A backend whose stores forward every call to the real backend's and write down the progress values and results
/// the supervisor hands them, in order: how many progress writes a job cost, and that its last one came before
/// its result. The database underneath is real (SQLite, PostgreSQL or memory).
final class CountingBackend: JobBackend {
    /// One store call the tests look at.
    enum Write: Equatable {
        /// One progress value handed to the store (it stores it if the job still runs under the writer).
        case progress(jobId: Int64, fraction: Double, message: String?)
        /// An attempt's result.
        case finish(jobId: Int64)
    }

    let inner: any JobBackend
    private let log = Locked<[Write]>([])

    init(_ inner: any JobBackend) {
        self.inner = inner
    }

    var writes: [Write] { log.withLock { $0 } }

    /// The progress values of `jobId` handed to the store so far.
    func progressWrites(of jobId: Int64) -> [Write] {
        writes.filter { if case .progress(jobId, _, _) = $0 { true } else { false } }
    }

    fileprivate func record(_ writes: [Write]) {
        guard !writes.isEmpty else { return }
        log.withLock { $0.append(contentsOf: writes) }
    }

    var displayName: String { inner.displayName }

    func openStore(_ access: StoreAccess) throws -> any JobStore & ScheduleStore {
        CountingStore(try inner.openStore(access), backend: self)
    }

    func makeChangeSignal() throws -> any ChangeSignal { try inner.makeChangeSignal() }

    func checkHealth() -> String? { inner.checkHealth() }
}

/// Forwards to the real store; tells its backend about progress writes and results.
final class CountingStore: JobStore, ScheduleStore, MonitoringStore, @unchecked Sendable {  // used by one thread, as any store
    let inner: any JobStore & ScheduleStore
    private unowned let backend: CountingBackend

    init(_ inner: any JobStore & ScheduleStore, backend: CountingBackend) {
        self.inner = inner
        self.backend = backend
    }

    private var monitoring: any MonitoringStore {
        get throws {
            guard let store = inner as? any MonitoringStore else {
                throw SmrtJobsError.invalidValue(field: "store", value: "\(type(of: inner))", reason: "not a MonitoringStore")
            }
            return store
        }
    }

    // MARK: What is counted

    func recordProgress(_ updates: [ProgressUpdate], workerId: String) throws -> Int {
        let stored = try monitoring.recordProgress(updates, workerId: workerId)
        backend.record(ProgressUpdate.latestPerJob(updates).map(Self.write))
        return stored
    }

    func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult] {
        let results = try inner.finish(reports, workerId: workerId, now: now)
        backend.record(reports.map { .finish(jobId: $0.jobId) })
        return results
    }

    func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        let done = try inner.finish(reports, workerId: workerId, now: now, thenClaim: limit, queues: queues)
        backend.record(reports.map { .finish(jobId: $0.jobId) })
        return done
    }

    func finish(
        _ reports: [AttemptReport], recordingProgress progress: [ProgressUpdate], workerId: String, now: Date,
        thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        let done = try monitoring.finish(
            reports, recordingProgress: progress, workerId: workerId, now: now, thenClaim: limit, queues: queues)
        backend.record(ProgressUpdate.latestPerJob(progress).map(Self.write) + reports.map { .finish(jobId: $0.jobId) })
        return done
    }

    static func write(_ update: ProgressUpdate) -> CountingBackend.Write {
        .progress(jobId: update.jobId, fraction: update.progress.fraction, message: update.progress.message)
    }

    // MARK: Forwarded as they are

    func finishedPerMinute(since: Date) throws -> [MinuteTally] { try monitoring.finishedPerMinute(since: since) }
    func jobPage(_ query: JobPageQuery) throws -> JobPage { try monitoring.jobPage(query) }

    func enqueue(_ spec: JobSpec, now: Date) throws -> SmrtJob { try inner.enqueue(spec, now: now) }
    func enqueue(batch: [JobSpec], now: Date) throws -> [Int64] { try inner.enqueue(batch: batch, now: now) }
    func enqueueReportingExisting(_ spec: JobSpec, now: Date) throws -> (job: SmrtJob, existing: Bool) {
        try inner.enqueueReportingExisting(spec, now: now)
    }
    func enqueueReportingExisting(batch: [JobSpec], now: Date) throws -> [EnqueuedJob] {
        try inner.enqueueReportingExisting(batch: batch, now: now)
    }
    func claim(workerId: String, limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try inner.claim(workerId: workerId, limit: limit, queues: queues, now: now)
    }
    func release(jobIds: [Int64], workerId: String, now: Date) throws -> Int {
        try inner.release(jobIds: jobIds, workerId: workerId, now: now)
    }
    func cancel(id: Int64, now: Date) throws -> SmrtJob { try inner.cancel(id: id, now: now) }
    func retry(id: Int64, now: Date) throws -> SmrtJob { try inner.retry(id: id, now: now) }
    func retryJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        try inner.retryJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
    }
    func cancelJobs(matching filter: JobFilter, limit: Int, now: Date, dryRun: Bool) throws -> BulkActionResult {
        try inner.cancelJobs(matching: filter, limit: limit, now: now, dryRun: dryRun)
    }
    func heartbeat(workerId: String, now: Date) throws { try inner.heartbeat(workerId: workerId, now: now) }
    func recoverJobs(
        ofDeadOwner ownerId: String, leaseAsJudged lease: JudgedLease, reason: String, now: Date,
        nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob]? {
        try inner.recoverJobs(ofDeadOwner: ownerId, leaseAsJudged: lease, reason: reason, now: now, nextRunAt: nextRunAt)
    }
    func recoverJobs(
        heartbeatBefore: Date, reason: String, now: Date, nextRunAt: (SmrtJob) -> Date?
    ) throws -> [RecoveredJob] {
        try inner.recoverJobs(heartbeatBefore: heartbeatBefore, reason: reason, now: now, nextRunAt: nextRunAt)
    }
    func get(id: Int64) throws -> SmrtJob? { try inner.get(id: id) }
    func list(_ query: JobQuery) throws -> [SmrtJob] { try inner.list(query) }
    func stats(queue: String?) throws -> JobStats { try inner.stats(queue: queue) }
    func cleanup(_ options: CleanupOptions, now: Date) throws -> Int { try inner.cleanup(options, now: now) }
    func registerWorker(_ record: WorkerRecord) throws { try inner.registerWorker(record) }
    func heartbeatWorker(id: String, now: Date, expiresAt: Date) throws {
        try inner.heartbeatWorker(id: id, now: now, expiresAt: expiresAt)
    }
    func removeWorker(id: String) throws { try inner.removeWorker(id: id) }
    func listWorkers() throws -> [WorkerRecord] { try inner.listWorkers() }
    func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try inner.listReady(limit: limit, queues: queues, now: now)
    }
    func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        try inner.list(statuses: statuses, queue: queue, limit: limit, offset: offset)
    }
    func soonestRunAt(after: Date, queues: [String]?) throws -> Date? { try inner.soonestRunAt(after: after, queues: queues) }
    func databaseTime() throws -> Date? { try inner.databaseTime() }

    func createSchedule(
        _ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?, now: Date
    ) throws -> AgentSchedule {
        try inner.createSchedule(spec, nextRun: nextRun, status: status, lastError: lastError, now: now)
    }
    func getSchedule(id: Int64) throws -> AgentSchedule? { try inner.getSchedule(id: id) }
    func listSchedules() throws -> [AgentSchedule] { try inner.listSchedules() }
    func updateSchedule(
        id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??, now: Date
    ) throws -> AgentSchedule {
        try inner.updateSchedule(id: id, enabled: enabled, status: status, nextRun: nextRun, lastError: lastError, now: now)
    }
    func deleteSchedule(id: Int64) throws { try inner.deleteSchedule(id: id) }
    func dueSchedules(now: Date, limit: Int) throws -> [AgentSchedule] { try inner.dueSchedules(now: now, limit: limit) }
    func fire(scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date) throws -> Int64? {
        try inner.fire(scheduleId: scheduleId, slot: slot, nextRun: nextRun, job: job, now: now)
    }
    func recordFireError(scheduleId: Int64, error: String, now: Date) throws {
        try inner.recordFireError(scheduleId: scheduleId, error: error, now: now)
    }
    func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date) throws {
        try inner.handleJobCompletion(scheduleId: scheduleId, success: success, message: message, now: now)
    }
}
