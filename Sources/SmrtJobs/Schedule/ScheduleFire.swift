import Foundation

/// What `ScheduleRunner.runDue` did with one due schedule.
public struct ScheduleFire: Sendable, Equatable {
    public var scheduleId: Int64
    /// The slot (the schedule's `nextRun`) that was due.
    public var slot: Date?
    /// The enqueued job, or nil when nothing was enqueued (another runner fired the slot, or an error).
    public var jobId: Int64?
    /// Why nothing was enqueued, when it was an error.
    public var error: String?

    public init(scheduleId: Int64, slot: Date?, jobId: Int64?, error: String? = nil) {
        self.scheduleId = scheduleId
        self.slot = slot
        self.jobId = jobId
        self.error = error
    }
}
