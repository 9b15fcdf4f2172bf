import Foundation
import SmrtJobs

/// Jobs per queue and status for `listQueues`, counted through the partial indexes instead of the table.
///
/// `GROUP BY queue, status` over the table sorts every row (2.8-3.8 s for a million jobs, docs/performance.md),
/// and the dashboard asks every few seconds. Pending jobs are counted in `_smrt_jobs_claim`, which is ordered by
/// queue (no sort); running ones through `_smrt_jobs_running_worker` (few rows); finished ones by stepping
/// `_smrt_jobs_finished` per status and tallying its queue column here: the index holds it, so no table row is
/// read, and the tally compares bytes with the few queue names met so far (no sort, no string per row).
extension SQLiteJobStore {
    static let pendingByQueueSQL = """
        SELECT queue, count(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_claim WHERE status = 'pending' GROUP BY queue
        """
    static let runningByQueueSQL = """
        SELECT queue, count(*) FROM _smrt_jobs INDEXED BY _smrt_jobs_running_worker WHERE status = 'running' GROUP BY queue
        """
    static let finishedQueuesSQL = """
        SELECT queue FROM _smrt_jobs INDEXED BY _smrt_jobs_finished WHERE status = ?1 AND completed_at IS NOT NULL
        """

    /// Inside the caller's (read) transaction.
    func jobCountsByQueue(_ connection: SQLiteConnection) throws -> [(queue: String, status: JobStatus, count: Int)] {
        var counts: [(queue: String, status: JobStatus, count: Int)] = []
        for (sql, status) in [(Self.pendingByQueueSQL, JobStatus.pending), (Self.runningByQueueSQL, .running)] {
            try connection.withStatement(sql) { s in
                while try s.step() { counts.append((s.string(0) ?? "", status, s.int(1))) }
            }
        }
        for status in [JobStatus.completed, .failed, .cancelled] {
            var tally = QueueTally()
            try connection.withStatement(Self.finishedQueuesSQL) { s in
                try s.bind(status.rawValue, 1)
                while try s.step() { s.withBytes(0) { tally.count($0) } }
            }
            for (name, count) in tally.totals { counts.append((name, status, count)) }
        }
        return counts
    }
}

/// Rows per queue name, given as bytes: the last name met is checked first, then the others (by a scan while they
/// are few, by a dictionary once there are many).
struct QueueTally {
    private static let scannedNames = 32
    private var names: [[UInt8]] = []
    private var counts: [Int] = []
    private var positions: [[UInt8]: Int] = [:]
    private var last = -1

    mutating func count(_ bytes: UnsafeBufferPointer<UInt8>?) {
        let bytes = bytes ?? UnsafeBufferPointer(start: nil, count: 0)
        if last >= 0, names[last].elementsEqual(bytes) {
            counts[last] += 1
            return
        }
        let found = names.count <= Self.scannedNames
            ? names.firstIndex { $0.elementsEqual(bytes) } : positions[Array(bytes)]
        if let found {
            last = found
        } else {
            names.append(Array(bytes))
            counts.append(0)
            last = names.count - 1
            positions[names[last]] = last
        }
        counts[last] += 1
    }

    var totals: [(String, Int)] { zip(names, counts).map { (String(decoding: $0, as: UTF8.self), $1) } }
}
