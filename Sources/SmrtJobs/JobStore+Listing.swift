import Foundation

/// Default answers to `listReady` and `list(statuses:)` built on `list(_:)`, so a store that does not
/// answer them with a query of its own still behaves as the protocol says (reading every matching job).
extension JobStore {
    public func listReady(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        try listReadyByPaging(limit: limit, queues: queues, now: now)
    }

    public func list(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        try listByPaging(statuses: statuses, queue: queue, limit: limit, offset: offset)
    }

    package func listReadyByPaging(limit: Int, queues: [String]?, now: Date) throws -> [SmrtJob] {
        if limit == 0 { return [] }
        if let queues, queues.isEmpty { return [] }
        let ready = try allJobs(status: .pending, queue: nil)
            .filter { job in job.runAt <= now && (queues?.contains(job.queue) ?? true) }
            .sorted(by: SmrtJob.claimOrder)
        return limit < 0 ? ready : Array(ready.prefix(limit))
    }

    package func listByPaging(statuses: [JobStatus], queue: String?, limit: Int, offset: Int) throws -> [SmrtJob] {
        var jobs: [SmrtJob] = []
        for status in Set(statuses) { jobs += try allJobs(status: status, queue: queue) }
        jobs.sort { $0.id > $1.id }
        let page = jobs.dropFirst(max(0, offset))
        return limit < 0 ? Array(page) : Array(page.prefix(limit))
    }

    private func allJobs(status: JobStatus, queue: String?) throws -> [SmrtJob] {
        let pageSize = 500
        var jobs: [SmrtJob] = []
        while true {
            let page = try list(JobQuery(status: status, queue: queue, limit: pageSize, offset: jobs.count))
            jobs += page
            if page.count < pageSize { return jobs }
        }
    }
}
