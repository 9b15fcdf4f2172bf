import Foundation

/// What every store decides the same way about a job page: which values are refused, which rows it reads.
extension JobPageQuery {
    /// The statuses that are rare and have an index of their own, ordered by id or small enough to sort
    /// (failed and cancelled: `_smrt_jobs_failed`, `_smrt_jobs_cancelled`; running: `_smrt_jobs_running_worker`).
    package static let indexedStatuses: Set<JobStatus> = [.failed, .cancelled, .running]

    /// The one status the query filters on when it is one of `indexedStatuses`: then the store reads the rows of
    /// that status only (through its index), not the table.
    package var indexedStatus: JobStatus? {
        let wanted = Set(statuses)
        guard wanted.count == 1, let status = wanted.first, Self.indexedStatuses.contains(status) else { return nil }
        return status
    }

    /// The statuses to filter on, each once, in `JobStatus` order; empty when every status is wanted.
    package var statusFilter: [JobStatus] {
        let wanted = JobStatus.allCases.filter(statuses.contains)
        return wanted.count == JobStatus.allCases.count ? [] : wanted
    }

    /// The `errorContains` text to filter on, nil when empty.
    package var errorFilter: String? {
        guard let errorContains, !errorContains.isEmpty else { return nil }
        return errorContains
    }

    /// - Throws: `SmrtJobsError.invalidValue` naming `limit` or `scanLimit` when below 1.
    package func validate() throws {
        if limit < 1 { throw SmrtJobsError.invalidValue(field: "limit", value: String(limit), reason: "must be at least 1") }
        if scanLimit < 1 {
            throw SmrtJobsError.invalidValue(field: "scanLimit", value: String(scanLimit), reason: "must be at least 1")
        }
    }
}
