import Foundation
import SmrtJobs
import SmrtJobsConformance

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
final class CountingStore: ForwardingJobStore, ScheduleStore, MonitoringStore, @unchecked Sendable {  // used by one thread, as any store
    /// The wrapped store, as the schedule store it also is.
    private let schedules: any ScheduleStore
    private unowned let backend: CountingBackend

    init(_ inner: any JobStore & ScheduleStore, backend: CountingBackend) {
        self.schedules = inner
        self.backend = backend
        super.init(inner)
    }

    private var monitoring: any MonitoringStore {
        get throws {
            guard let store = wrapped as? any MonitoringStore else {
                throw SmrtJobsError.invalidValue(field: "store", value: "\(type(of: wrapped))", reason: "not a MonitoringStore")
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

    override func finish(_ reports: [AttemptReport], workerId: String, now: Date) throws -> [FinishResult] {
        let results = try super.finish(reports, workerId: workerId, now: now)
        backend.record(reports.map { .finish(jobId: $0.jobId) })
        return results
    }

    override func finish(
        _ reports: [AttemptReport], workerId: String, now: Date, thenClaim limit: Int, queues: [String]?
    ) throws -> (finished: [FinishResult], claimed: [SmrtJob]) {
        let done = try super.finish(reports, workerId: workerId, now: now, thenClaim: limit, queues: queues)
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

    // MARK: Forwarded as they are (the job store's calls: `ForwardingJobStore`)

    func finishedPerMinute(since: Date) throws -> [MinuteTally] { try monitoring.finishedPerMinute(since: since) }
    func jobPage(_ query: JobPageQuery) throws -> JobPage { try monitoring.jobPage(query) }

    func createSchedule(
        _ spec: AgentScheduleSpec, nextRun: Date?, status: AgentSchedule.Status, lastError: String?, now: Date
    ) throws -> AgentSchedule {
        try schedules.createSchedule(spec, nextRun: nextRun, status: status, lastError: lastError, now: now)
    }
    func getSchedule(id: Int64) throws -> AgentSchedule? { try schedules.getSchedule(id: id) }
    func listSchedules() throws -> [AgentSchedule] { try schedules.listSchedules() }
    func updateSchedule(
        id: Int64, enabled: Bool?, status: AgentSchedule.Status?, nextRun: Date??, lastError: String??, now: Date
    ) throws -> AgentSchedule {
        try schedules.updateSchedule(id: id, enabled: enabled, status: status, nextRun: nextRun, lastError: lastError, now: now)
    }
    func deleteSchedule(id: Int64) throws { try schedules.deleteSchedule(id: id) }
    func dueSchedules(now: Date, limit: Int) throws -> [AgentSchedule] { try schedules.dueSchedules(now: now, limit: limit) }
    func fire(scheduleId: Int64, slot: Date, nextRun: Date?, job: JobSpec, now: Date) throws -> Int64? {
        try schedules.fire(scheduleId: scheduleId, slot: slot, nextRun: nextRun, job: job, now: now)
    }
    func recordFireError(scheduleId: Int64, error: String, now: Date) throws {
        try schedules.recordFireError(scheduleId: scheduleId, error: error, now: now)
    }
    func handleJobCompletion(scheduleId: Int64, success: Bool, message: String?, now: Date) throws {
        try schedules.handleJobCompletion(scheduleId: scheduleId, success: success, message: message, now: now)
    }
}
