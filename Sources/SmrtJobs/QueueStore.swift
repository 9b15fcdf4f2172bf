import Foundation

/// A queue's global concurrency limit.
public enum QueueConcurrency: Sendable, Equatable, Hashable {
    case unlimited
    /// At most this many jobs of the queue running at once, across every claimer (0: none start).
    case limit(Int)

    /// The limit as stored (`nil` = unlimited).
    public var value: Int? {
        if case .limit(let n) = self { return n }
        return nil
    }

    public init(_ value: Int?) {
        self = value.map { .limit($0) } ?? .unlimited
    }
}

/// One queue as an object: its jobs per status, whether it is paused, its concurrency limit.
public struct QueueInfo: Sendable, Equatable {
    public var name: String
    public var counts: JobStats
    public var paused: Bool
    /// Nil: unlimited.
    public var concurrency: Int?
    /// The `runAt` of the queue's oldest ready job (pending, due at `now`), if any.
    public var oldestReadyRunAt: Date?
    /// When the queue's row was last written; nil for a queue that has jobs but no row.
    public var updatedAt: Date?

    public init(
        name: String, counts: JobStats = JobStats(), paused: Bool = false, concurrency: Int? = nil,
        oldestReadyRunAt: Date? = nil, updatedAt: Date? = nil
    ) {
        self.name = name
        self.counts = counts
        self.paused = paused
        self.concurrency = concurrency
        self.oldestReadyRunAt = oldestReadyRunAt
        self.updatedAt = updatedAt
    }
}

/// The row of a queue that is paused or limited, as the claim reads it.
public struct QueueControl: Sendable, Equatable {
    public var name: String
    public var paused: Bool
    public var concurrency: Int?
    public init(name: String, paused: Bool, concurrency: Int?) {
        self.name = name
        self.paused = paused
        self.concurrency = concurrency
    }
}

/// Queues as objects (`_smrt_queues`): pause/resume and a global concurrency limit, enforced by the store's claim
/// (`claim` and `finish(thenClaim:)`): a paused queue's jobs are not claimed; a queue limited to N never has more
/// than N jobs running, however many claimers on however many hosts. A queue without a row is running and
/// unlimited; a queue exists once named (setting an unknown name creates its row).
public protocol QueueStore: AnyObject, Sendable {
    /// Creates or updates the queue's row; a nil argument leaves that setting as it is (a new row: running,
    /// unlimited). A write that resumes or raises a limit wakes claimers (the change signal).
    /// - Throws: `SmrtJobsError.invalidValue` for an empty name or a negative limit.
    func setQueue(name: String, paused: Bool?, concurrency: QueueConcurrency?, now: Date) throws
    /// Every queue that has jobs or a row, by name: counts per status, paused, limit, oldest ready job.
    func listQueues(now: Date) throws -> [QueueInfo]
}

extension QueueStore {
    /// Checks the arguments of `setQueue` the same way for every store.
    public static func validateQueueSetting(name: String, concurrency: QueueConcurrency?) throws {
        if name.isEmpty { throw SmrtJobsError.invalidValue(field: "queue", value: name, reason: "a queue name cannot be empty") }
        if let n = concurrency?.value, n < 0 {
            throw SmrtJobsError.invalidValue(field: "concurrency", value: String(n), reason: "a limit is 0 or more")
        }
    }
}

extension QueueInfo {
    /// Builds the list from per-(queue, status) counts and the queue rows, sorted by name.
    public static func merge(
        counts: [(queue: String, status: JobStatus, count: Int)], oldestReady: [String: Date], rows: [QueueInfo]
    ) -> [QueueInfo] {
        var byName: [String: QueueInfo] = [:]
        for row in rows { byName[row.name] = row }
        for (queue, status, count) in counts {
            var info = byName[queue] ?? QueueInfo(name: queue)
            switch status {
            case .pending: info.counts.pending += count
            case .running: info.counts.running += count
            case .completed: info.counts.completed += count
            case .failed: info.counts.failed += count
            case .cancelled: info.counts.cancelled += count
            }
            byName[queue] = info
        }
        for (queue, date) in oldestReady { byName[queue, default: QueueInfo(name: queue)].oldestReadyRunAt = date }
        return byName.values.sorted { $0.name < $1.name }
    }
}

/// What a claim may take when some queues are paused or limited.
public struct QueueClaimPlan: Sendable, Equatable {
    /// Queues none of whose jobs may be claimed now (paused, or at their limit).
    public var excluded: Set<String>
    /// Limited queues with room: how many more of their jobs may be claimed.
    public var budgets: [String: Int]

    /// `controls`: the rows that are paused or limited; `running`: running jobs per limited queue.
    public init(controls: [QueueControl], running: [String: Int]) {
        excluded = []
        budgets = [:]
        for control in controls {
            if control.paused {
                excluded.insert(control.name)
            } else if let limit = control.concurrency {
                let room = limit - (running[control.name] ?? 0)
                if room > 0 { budgets[control.name] = room } else { excluded.insert(control.name) }
            }
        }
    }

    /// Every queue the plan restricts (excluded or budgeted): the unrestricted candidates are the others.
    public var restricted: [String] { (excluded.union(budgets.keys)).sorted() }

    /// Takes candidates (in claim order) while budgets last, at most `limit`.
    public func pick<C>(_ candidates: [C], limit: Int, queue: (C) -> String) -> [C] {
        var left = budgets
        var picked: [C] = []
        for candidate in candidates {
            if picked.count == limit { break }
            let name = queue(candidate)
            if excluded.contains(name) { continue }
            if let room = left[name] {
                if room <= 0 { continue }
                left[name] = room - 1
            }
            picked.append(candidate)
        }
        return picked
    }
}
