import SmrtJobs

/// The latest progress of each running job, and when each may be written: a value type with no timers or
/// database, fed by the loop and unit-tested on its own (`ProgressBufferTests`).
///
/// A job's first report is written at the next group commit; later ones at most once per `interval` per job, the
/// latest value winning (a job reporting 200 times a second costs one write a second). When the attempt ends,
/// a value still waiting is written with the attempt's result, before it, so the stored progress is the last
/// one the job reported. A released attempt (shutdown) drops it.
struct ProgressBuffer {
    private struct Entry {
        /// Reported and not written yet.
        var pending: JobProgress?
        /// When a value of this job was last handed out for writing (`Monotonic.nanos`).
        var lastWrite: UInt64?
    }

    /// The least time between two writes of one job's progress.
    static let interval: UInt64 = 1_000_000_000

    private var entries: [Int64: Entry] = [:]
    /// Values of ended attempts, written at the next commit whatever their time.
    private var ended: [ProgressUpdate] = []
    /// How many entries have a `pending` value.
    private var pendingCount = 0

    /// Jobs with progress known (running, having reported).
    var trackedJobs: Int { entries.count }

    /// Whether a value waits to be written (now or later).
    var hasWaiting: Bool { pendingCount > 0 || !ended.isEmpty }

    /// Keeps `progress` as the latest of job `jobId`.
    mutating func report(jobId: Int64, _ progress: JobProgress) {
        var entry = entries[jobId] ?? Entry()
        if entry.pending == nil { pendingCount += 1 }
        entry.pending = progress
        entries[jobId] = entry
    }

    /// The attempt of `jobId` ended: a value still waiting goes out with the next commit (with the attempt's
    /// result); the job is forgotten.
    mutating func attemptEnded(jobId: Int64) {
        guard let entry = entries.removeValue(forKey: jobId) else { return }
        if let pending = entry.pending {
            pendingCount -= 1
            ended.append(ProgressUpdate(jobId: jobId, progress: pending))
        }
    }

    /// The attempt of `jobId` was released (it did not end): its waiting value is dropped.
    mutating func discard(jobId: Int64) {
        guard let entry = entries.removeValue(forKey: jobId) else { return }
        if entry.pending != nil { pendingCount -= 1 }
    }

    /// The values to write now: those of ended attempts, and the waiting ones whose job was last written at least
    /// `interval` ago (or never). Each job's write time becomes `now`.
    mutating func takeDue(now: UInt64) -> [ProgressUpdate] {
        guard pendingCount > 0 || !ended.isEmpty else { return [] }
        var due = ended
        ended.removeAll()
        guard pendingCount > 0 else { return due }
        for (jobId, entry) in entries {
            guard let pending = entry.pending, Self.mayWrite(entry, now: now) else { continue }
            due.append(ProgressUpdate(jobId: jobId, progress: pending))
            entries[jobId] = Entry(pending: nil, lastWrite: now)
            pendingCount -= 1
        }
        return due
    }

    /// When the soonest waiting value may be written (`Monotonic.nanos`), or nil when none waits.
    var nextDue: UInt64? {
        if !ended.isEmpty { return 0 }
        guard pendingCount > 0 else { return nil }
        var soonest: UInt64?
        for entry in entries.values where entry.pending != nil {
            let due = entry.lastWrite.map { $0 &+ Self.interval } ?? 0
            soonest = min(soonest ?? .max, due)
        }
        return soonest
    }

    private static func mayWrite(_ entry: Entry, now: UInt64) -> Bool {
        guard let last = entry.lastWrite else { return true }
        return now >= last &+ interval
    }
}
