import Foundation
import Logging
import SmrtJobs

/// What the buttons and the API's POSTs do, once for both: each runs on a store connection, logs one line
/// (`event=dashboard_action`, never args or the token), asks the overview cache for a refresh, and says what
/// happened as a sentence and as JSON.
struct DashboardActions: Sendable {
    let pool: StorePool
    let cache: OverviewCache
    let logger: Logger

    /// The outcome of an action.
    struct Outcome: Sendable {
        var message: String
        var json: JSONValue
    }

    /// Jobs per transaction of a bulk retry.
    static let bulkBatchSize = 1_000

    func retryJob(_ id: Int64) async throws -> Outcome {
        let job = try await pool.run { store in try store.retry(id: id, now: Date()) }
        return done("job \(id) is pending again (attempts reset)", ["job": DashboardJSON.job(job)], ["job_id": "\(id)", "action": "retry"])
    }

    func cancelJob(_ id: Int64) async throws -> Outcome {
        let job = try await pool.run { store in try store.cancel(id: id, now: Date()) }
        return done("job \(id) cancelled", ["job": DashboardJSON.job(job)], ["job_id": "\(id)", "action": "cancel"])
    }

    /// Retries every failed job matching the filter's queue, type and error text (its status and cursor do not
    /// apply), `bulkBatchSize` per transaction. Without error text the store's bulk retry does it
    /// (`retryJobs(matching:)`); with error text, which `JobFilter` cannot express, the failed jobs are found with
    /// `jobPage` and each is retried if it is still failed.
    func retryFailed(matching filter: JobsFilter, scanLimit: Int) async throws -> Outcome {
        let (retried, skipped) = try await pool.run { store -> (Int, Int) in
            let now = Date()
            if let errorText = filter.error {
                return try Self.retryFailedByPage(store, filter, errorText: errorText, scanLimit: scanLimit, now: now)
            }
            var jobFilter = JobFilter(statuses: [.failed], queue: filter.queue, objectType: filter.type)
            var retried = 0
            var skipped = 0
            while true {
                let batch = try store.retryJobs(matching: jobFilter, limit: Self.bulkBatchSize, now: now, dryRun: false)
                retried += batch.ids.count
                skipped += batch.skipped.count
                guard let last = batch.lastId else { break }
                jobFilter.afterId = last
            }
            return (retried, skipped)
        }
        var message = "retried \(retried) failed job\(retried == 1 ? "" : "s")"
        if skipped > 0 { message += " (skipped \(skipped): unique key held by another pending or running job)" }
        return done(
            message, ["action": "retry", "count": .int(Int64(retried)), "skipped": .int(Int64(skipped))],
            ["action": "bulk_retry", "count": "\(retried)"])
    }

    private static func retryFailedByPage(
        _ store: any JobStore & ScheduleStore, _ filter: JobsFilter, errorText: String, scanLimit: Int, now: Date
    ) throws -> (Int, Int) {
        let monitoring = try store.asMonitoringStore()
        var query = JobPageQuery(
            statuses: [.failed], queue: filter.queue, objectType: filter.type, errorContains: errorText, limit: bulkBatchSize,
            scanLimit: scanLimit)
        var retried = 0
        var skipped = 0
        while true {
            let page = try monitoring.jobPage(query)
            for job in page.jobs {
                // Re-read: the page is not the retry's transaction; a job that moved on meanwhile is left alone.
                guard let current = try store.get(id: job.id), current.status == .failed else { continue }
                do {
                    _ = try store.retry(id: job.id, now: now)
                    retried += 1
                } catch SmrtJobsError.uniqueKeyHeld {
                    skipped += 1
                } catch SmrtJobsError.invalidTransition {
                    continue
                }
            }
            guard let next = page.nextBeforeId else { break }
            query.beforeId = next
        }
        return (retried, skipped)
    }

    enum ScheduleChange: String, Sendable {
        case enable, disable, run
    }

    func schedule(_ id: Int64, _ change: ScheduleChange) async throws -> Outcome {
        do {
            switch change {
            case .enable, .disable:
                let schedule = try await pool.run { store in
                    try ScheduleRunner.apply(change == .enable ? .enable : .disable, toSchedule: id, in: store, now: Date())
                }
                var message = "schedule \(id) \(change == .enable ? "enabled" : "disabled")"
                if change == .enable { message += ", next run \(Pages.time(schedule.nextRun))" }
                return done(message, ["schedule": DashboardJSON.schedule(schedule)], ["schedule_id": "\(id)", "action": "\(change.rawValue)"])
            case .run:
                let jobId = try await pool.run { store in try ScheduleRunner.runNow(scheduleId: id, in: store, now: Date()) }
                let message = jobId.map { "schedule \(id) fired job \($0)" } ?? "schedule \(id) was fired by a supervisor meanwhile"
                return done(message, ["jobId": jobId.map { .int($0) } ?? .null], ["schedule_id": "\(id)", "action": "run_now"])
            }
        } catch SmrtJobsError.invalidValue(field: "schedule", value: let value, reason: let reason) {
            throw APIError(.conflict, "cannot \(change == .run ? "run" : change.rawValue) schedule \(value): \(reason)")
        }
    }

    /// Pauses, resumes or limits a queue (`concurrency` nil leaves the limit as it is).
    func queue(_ name: String, paused: Bool?, concurrency: QueueConcurrency?) async throws -> Outcome {
        try await pool.run { store in
            try store.asQueueStore().setQueue(name: name, paused: paused, concurrency: concurrency, now: Date())
        }
        cache.updateQueue(name, paused: paused, concurrency: concurrency)
        let message: String
        let action: String
        if let paused {
            message = "queue \(name) \(paused ? "paused" : "resumed")"
            action = paused ? "pause" : "resume"
        } else {
            message = "queue \(name): " + (concurrency?.value.map { "at most \($0) jobs at once" } ?? "no concurrency limit")
            action = "limit"
        }
        var json: [String: JSONValue] = ["queue": .string(name)]
        if let paused { json["paused"] = .bool(paused) }
        if let concurrency { json["concurrency"] = concurrency.value.map { .int(Int64($0)) } ?? .null }
        return done(message, json, ["queue": "\(name)", "action": "\(action)"])
    }

    private func done(_ message: String, _ json: [String: JSONValue], _ metadata: Logger.Metadata) -> Outcome {
        var metadata = metadata
        metadata["event"] = "dashboard_action"
        logger.info("\(message)", metadata: metadata)
        cache.refreshSoon()
        var json = json
        json["message"] = .string(message)
        return Outcome(message: message, json: .object(json))
    }
}
