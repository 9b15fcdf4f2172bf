import Foundation
import SmrtJobs
import Testing

/// `MonitoringStore.jobPage`: newest first, keyset cursor, every filter, the scan limit.
extension StoreConformance {
    static let jobPageChecks: [ConformanceCheck] = [
        ConformanceCheck("jobPagesMatchEveryFilterNewestFirst", jobPagesMatchEveryFilterNewestFirst),
        ConformanceCheck("jobPagesFollowTheCursorWithoutGapsOrRepeats", jobPagesFollowTheCursorWithoutGapsOrRepeats),
        ConformanceCheck("jobPagesStopAtTheScanLimit", jobPagesStopAtTheScanLimit),
        ConformanceCheck("jobPagesOfARareStatusAreExact", jobPagesOfARareStatusAreExact),
        ConformanceCheck("jobPagesFindErrorTextLiterally", jobPagesFindErrorTextLiterally),
        ConformanceCheck("jobPagesRefuseALimitBelowOne", jobPagesRefuseALimitBelowOne),
    ]

    /// Jobs in every status over two queues and three types; returns every id, oldest first.
    static func pageFixture(_ store: StoreFactory.Store) throws -> [Int64] {
        let types = ["Report", "Mailer", "Thumb"]
        let specs = (0..<30).map { i in spec(types[i % 3], queue: i % 2 == 0 ? "default" : "mail", maxAttempts: 1) }
        let ids = try store.enqueue(batch: specs, now: t0)
        let claimed = try store.claim(workerId: "w", limit: 30, queues: nil, now: t0)
        #expect(claimed.count == 30)
        var reports: [AttemptReport] = []
        for (i, id) in ids.enumerated() {
            switch i % 5 {
            case 0: reports.append(AttemptReport(jobId: id, outcome: .completed(result: nil)))
            case 1: reports.append(AttemptReport(jobId: id, outcome: .failed(error: i % 2 == 0 ? "Disk FULL on /var" : "timeout after 5 s", retryAt: nil)))
            default: break  // 2: running, 3: cancelled below, 4: back to pending below
            }
        }
        _ = try store.finish(reports, workerId: "w", now: t0 + 1)
        for (i, id) in ids.enumerated() where i % 5 == 3 { _ = try store.cancel(id: id, now: t0 + 2) }
        _ = try store.release(jobIds: ids.enumerated().filter { $0.offset % 5 == 4 }.map(\.element), workerId: "w", now: t0 + 2)
        return ids
    }

    /// Every page of `query` (its own limit), following `nextBeforeId`; fails the check after 100 pages.
    static func allPages(_ monitor: any MonitoringStore, _ query: JobPageQuery) throws -> [JobPage] {
        var pages: [JobPage] = []
        var query = query
        while pages.count < 100 {
            let page = try monitor.jobPage(query)
            pages.append(page)
            guard let next = page.nextBeforeId else { return pages }
            #expect(next < (query.beforeId ?? .max), "the cursor moves down")
            query.beforeId = next
        }
        Issue.record("more than 100 pages")
        return pages
    }

    static func jobPagesMatchEveryFilterNewestFirst(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            let ids = try pageFixture(store)
            let jobs = try ids.map { try #require(try store.get(id: $0)) }
            let newestFirst = jobs.sorted { $0.id > $1.id }
            let queries: [JobPageQuery] = [
                JobPageQuery(),
                JobPageQuery(statuses: [.pending]), JobPageQuery(statuses: [.running]), JobPageQuery(statuses: [.completed]),
                JobPageQuery(statuses: [.failed]), JobPageQuery(statuses: [.cancelled]),
                JobPageQuery(statuses: [.failed, .cancelled]), JobPageQuery(statuses: JobStatus.allCases),
                JobPageQuery(statuses: [.failed, .failed]),
                JobPageQuery(queue: "mail"), JobPageQuery(queue: "nowhere"), JobPageQuery(objectType: "Thumb"),
                JobPageQuery(statuses: [.running], queue: "default"), JobPageQuery(statuses: [.failed], queue: "mail"),
                JobPageQuery(statuses: [.pending, .running], objectType: "Report"),
                JobPageQuery(errorContains: "disk full"), JobPageQuery(errorContains: "TIMEOUT"), JobPageQuery(errorContains: ""),
                JobPageQuery(statuses: [.failed], queue: "default", objectType: "Mailer", errorContains: "full"),
                JobPageQuery(beforeId: ids[20]), JobPageQuery(statuses: [.cancelled], beforeId: ids[13]),
            ]
            for query in queries {
                let expected = newestFirst.filter { $0.id < (query.beforeId ?? .max) && query.matches($0) }
                // Everything on one page.
                let page = try monitor.jobPage(query)
                #expect(page.jobs == Array(expected.prefix(50)), "\(query)")
                #expect(page.nextBeforeId == nil && !page.scanLimitReached, "\(query)")
                // And a page at a time.
                var small = query
                small.limit = 4
                let pages = try allPages(monitor, small)
                #expect(pages.flatMap(\.jobs) == expected, "\(query)")
                #expect(pages.allSatisfy { !$0.scanLimitReached })
                #expect(pages.dropLast().allSatisfy { $0.jobs.count == 4 }, "every page but the last is full")
            }
            #expect(try monitor.jobPage(JobPageQuery(statuses: [.failed])).jobs.count == 6)
            #expect(try monitor.jobPage(JobPageQuery(errorContains: "disk full")).jobs.map(\.id) == [ids[26], ids[16], ids[6]])
        }
    }

    static func jobPagesFollowTheCursorWithoutGapsOrRepeats(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            // 7 Report jobs among 21, so three pages of 3: 3, 3, 1.
            let ids = try store.enqueue(batch: (0..<21).map { spec($0 % 3 == 1 ? "Report" : "Other") }, now: t0)
            let reports = ids.enumerated().filter { $0.offset % 3 == 1 }.map(\.element)
            var query = JobPageQuery(objectType: "Report", limit: 3)
            let first = try monitor.jobPage(query)
            #expect(first.jobs.map(\.id) == [reports[6], reports[5], reports[4]])
            #expect(first.nextBeforeId == reports[4] && !first.scanLimitReached)
            // A job enqueued between pages does not shift them (it is newer than the cursor).
            _ = try store.enqueue(spec("Report"), now: t0 + 1)
            query.beforeId = first.nextBeforeId
            let second = try monitor.jobPage(query)
            #expect(second.jobs.map(\.id) == [reports[3], reports[2], reports[1]])
            #expect(second.nextBeforeId == reports[1])
            query.beforeId = second.nextBeforeId
            let third = try monitor.jobPage(query)
            #expect(third.jobs.map(\.id) == [reports[0]])
            #expect(third.nextBeforeId == nil && !third.scanLimitReached)
            let all = (first.jobs + second.jobs + third.jobs).map(\.id)
            #expect(all == reports.reversed() && Set(all).count == 7)
            // A page that ends on the oldest job says there is no next one.
            let exact = try monitor.jobPage(JobPageQuery(beforeId: ids[3]))
            #expect(exact.jobs.map(\.id) == [ids[2], ids[1], ids[0]] && exact.nextBeforeId == nil)
            let full = try monitor.jobPage(JobPageQuery(beforeId: ids[3], limit: 3))
            #expect(full.jobs.map(\.id) == [ids[2], ids[1], ids[0]] && full.nextBeforeId == nil, "a full page at the end")
            let fullWithMore = try monitor.jobPage(JobPageQuery(beforeId: ids[3], limit: 2))
            #expect(fullWithMore.jobs.map(\.id) == [ids[2], ids[1]] && fullWithMore.nextBeforeId == ids[1])
            #expect(try monitor.jobPage(JobPageQuery(beforeId: ids[0])) == JobPage(jobs: [], nextBeforeId: nil, scanLimitReached: false))
        }
    }

    static func jobPagesStopAtTheScanLimit(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            // The oldest job is the only Rare one, under 10 others.
            let ids = try store.enqueue(batch: [spec("Rare")] + (0..<10).map { _ in spec("Common") }, now: t0)
            var query = JobPageQuery(objectType: "Rare", scanLimit: 4)
            let first = try monitor.jobPage(query)
            #expect(first == JobPage(jobs: [], nextBeforeId: ids[7], scanLimitReached: true), "read ids[10] … ids[7]")
            query.beforeId = first.nextBeforeId
            let second = try monitor.jobPage(query)
            #expect(second == JobPage(jobs: [], nextBeforeId: ids[3], scanLimitReached: true))
            query.beforeId = second.nextBeforeId
            let third = try monitor.jobPage(query)
            #expect(third.jobs.map(\.id) == [ids[0]] && third.nextBeforeId == nil && !third.scanLimitReached)
            // A window that ends exactly at the oldest job: nothing further, so not "reached".
            let last = try monitor.jobPage(JobPageQuery(objectType: "Rare", beforeId: ids[4], scanLimit: 4))
            #expect(last.jobs.map(\.id) == [ids[0]] && last.nextBeforeId == nil && !last.scanLimitReached)
            let none = try monitor.jobPage(JobPageQuery(objectType: "Nothing", beforeId: ids[4], scanLimit: 4))
            #expect(none == JobPage(jobs: [], nextBeforeId: nil, scanLimitReached: false))
            // Some matches, then the limit: the page is not full and says where to go on.
            let some = try monitor.jobPage(JobPageQuery(objectType: "Common", limit: 50, scanLimit: 3))
            #expect(some.jobs.map(\.id) == [ids[10], ids[9], ids[8]] && some.nextBeforeId == ids[8] && some.scanLimitReached)
            // A full page comes first: not "reached", though the window is used up as well.
            let fullPage = try monitor.jobPage(JobPageQuery(objectType: "Common", limit: 3, scanLimit: 3))
            #expect(fullPage.jobs.count == 3 && fullPage.nextBeforeId == ids[8] && !fullPage.scanLimitReached)
            // Two statuses are read from the table, within the limit.
            let two = try monitor.jobPage(JobPageQuery(statuses: [.pending, .cancelled], objectType: "Rare", scanLimit: 10))
            #expect(two == JobPage(jobs: [], nextBeforeId: ids[1], scanLimitReached: true))
        }
    }

    static func jobPagesOfARareStatusAreExact(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            // Two failed and two cancelled jobs, then 20 completed ones above them, and one running.
            let old = try store.enqueue(batch: (0..<4).map { _ in spec("Old", maxAttempts: 1) }, now: t0)
            _ = try store.claim(workerId: "w", limit: 4, queues: nil, now: t0)
            _ = try store.finish(old.prefix(2).map { AttemptReport(jobId: $0, outcome: .failed(error: "e", retryAt: nil)) }, workerId: "w", now: t0)
            for id in old.suffix(2) { _ = try store.cancel(id: id, now: t0) }
            let newer = try store.enqueue(batch: (0..<20).map { _ in spec("New") }, now: t0)
            _ = try store.claim(workerId: "w", limit: 20, queues: nil, now: t0)
            _ = try store.finish(newer.map { AttemptReport(jobId: $0, outcome: .completed(result: nil)) }, workerId: "w", now: t0)
            let running = try store.enqueue(spec("Run"), now: t0)
            _ = try store.claim(workerId: "w", limit: 1, queues: nil, now: t0)
            // A table window of 5 rows would hold none of them; their status's own rows hold all.
            let failed = try monitor.jobPage(JobPageQuery(statuses: [.failed], scanLimit: 5))
            #expect(failed == JobPage(jobs: [try #require(try store.get(id: old[1])), try #require(try store.get(id: old[0]))], nextBeforeId: nil, scanLimitReached: false))
            let cancelled = try monitor.jobPage(JobPageQuery(statuses: [.cancelled], scanLimit: 2))
            #expect(cancelled.jobs.map(\.id) == [old[3], old[2]] && cancelled.nextBeforeId == nil && !cancelled.scanLimitReached)
            // The limit counts that status's rows: one of two read, the other left for the next page.
            let one = try monitor.jobPage(JobPageQuery(statuses: [.failed], objectType: "Nothing", scanLimit: 1))
            #expect(one == JobPage(jobs: [], nextBeforeId: old[1], scanLimitReached: true))
            let runningPage = try monitor.jobPage(JobPageQuery(statuses: [.running], scanLimit: 1))
            #expect(runningPage.jobs.map(\.id) == [running.id] && runningPage.nextBeforeId == nil)
            // Pages of one full page each, the cursor inside the status.
            let firstFailed = try monitor.jobPage(JobPageQuery(statuses: [.failed], limit: 1))
            #expect(firstFailed.jobs.map(\.id) == [old[1]] && firstFailed.nextBeforeId == old[1])
            let secondFailed = try monitor.jobPage(JobPageQuery(statuses: [.failed], beforeId: old[1], limit: 1))
            #expect(secondFailed.jobs.map(\.id) == [old[0]] && secondFailed.nextBeforeId == nil, "no older failed job")
            // A retried job leaves its status's rows.
            _ = try store.retry(id: old[1], now: t0 + 1)
            #expect(try monitor.jobPage(JobPageQuery(statuses: [.failed])).jobs.map(\.id) == [old[0]])
        }
    }

    static func jobPagesFindErrorTextLiterally(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            let errors = [
                "100% done", "disk_full", "it's \"quoted\"", "<script>alert('x')</script>", "plain failure",
                "back\\slash", "Échec de l'envoi", "100 percent", "diskXfull",
            ]
            let ids = try store.enqueue(batch: errors.map { _ in spec(maxAttempts: 1) }, now: t0)
            _ = try store.claim(workerId: "w", limit: errors.count, queues: nil, now: t0)
            _ = try store.finish(
                zip(ids, errors).map { AttemptReport(jobId: $0, outcome: .failed(error: $1, retryAt: nil)) }, workerId: "w", now: t0)
            func found(_ text: String) throws -> [String] {
                try monitor.jobPage(JobPageQuery(errorContains: text)).jobs.reversed().compactMap(\.lastError)
            }
            #expect(try found("%") == ["100% done"], "% is no wildcard")
            #expect(try found("_") == ["disk_full"], "_ is no wildcard")
            #expect(try found("'") == ["it's \"quoted\"", "<script>alert('x')</script>", "Échec de l'envoi"])
            #expect(try found("\"quoted\"") == ["it's \"quoted\""])
            #expect(try found("<SCRIPT>") == ["<script>alert('x')</script>"])
            #expect(try found("\\") == ["back\\slash"])
            #expect(try found("DISK_FULL") == ["disk_full"])
            #expect(try found("échec") == [], "only ASCII letters fold")
            #expect(try found("Échec DE") == ["Échec de l'envoi"])
            #expect(try found("') OR 1=1 --") == [])
            #expect(try found(String(repeating: "x", count: 300)) == [])
        }
    }

    static func jobPagesRefuseALimitBelowOne(_ factory: StoreFactory) throws {
        try factory.withStore { store, _ in
            let monitor = try monitoring(store)
            #expect(throws: SmrtJobsError.invalidValue(field: "limit", value: "0", reason: "must be at least 1")) {
                try monitor.jobPage(JobPageQuery(limit: 0))
            }
            #expect(throws: SmrtJobsError.invalidValue(field: "scanLimit", value: "-1", reason: "must be at least 1")) {
                try monitor.jobPage(JobPageQuery(scanLimit: -1))
            }
        }
    }
}
