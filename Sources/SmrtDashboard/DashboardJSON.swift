import Foundation
import SmrtJobs

/// The API's JSON for the store's models: camelCase keys, times as ISO-8601 text (`Timestamp.format`), absent
/// values as null, and args, results, errors and schedule configs redacted exactly as the logs and the CLI
/// redact them (`ArgumentRedaction`).
enum DashboardJSON {
    static func encode<T: Encodable>(_ value: T) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // JSONValue's own parser: its Decodable conformance tries each kind in turn (a thrown error per miss), which
        // made a supervisor's snapshot (about 25 KB of JSON) cost ~20 ms in /api/supervisors.
        guard let data = try? encoder.encode(value), let json = try? JSONValue.parse(String(decoding: data, as: UTF8.self)) else {
            return .null
        }
        return json
    }

    static func time(_ date: Date?) -> JSONValue {
        date.map { .string(Timestamp.format($0)) } ?? .null
    }

    static func seconds(_ interval: TimeInterval) -> JSONValue {
        .double((interval * 1000).rounded() / 1000)
    }

    /// Every field of the job, secrets redacted.
    static func job(_ job: SmrtJob) -> JSONValue {
        guard var members = encode(job).objectValue else { return .null }
        members["args"] = ArgumentRedaction.redact(.object(job.args))
        members["result"] = job.result.map(ArgumentRedaction.redact) ?? .null
        members["lastError"] = job.lastError.map { .string(ArgumentRedaction.redact(text: $0)) } ?? .null
        for key in ["objectId", "startedAt", "completedAt", "resultPointer", "workerId", "workerHeartbeat", "tenantId",
                    "uniqueKey", "progress", "workerPid", "workerExit"] where members[key] == nil {
            members[key] = .null
        }
        members["description"] = .string(job.description)
        return .object(members)
    }

    /// A row of the jobs list: what the table shows.
    static func jobSummary(_ job: SmrtJob) -> JSONValue {
        [
            "id": .int(job.id), "status": .string(job.status.rawValue), "queue": .string(job.queue),
            "objectType": .string(job.objectType), "method": .string(job.method), "description": .string(job.description),
            "priority": .int(Int64(job.priority)), "attempts": .int(Int64(job.attempts)),
            "maxAttempts": .int(Int64(job.maxAttempts)), "runAt": time(job.runAt), "createdAt": time(job.createdAt),
            "completedAt": time(job.completedAt),
            "lastError": job.lastError.map { .string(ArgumentRedaction.redact(text: $0)) } ?? .null,
            "progress": job.progress.map { .double($0.fraction) } ?? .null,
        ]
    }

    static func counts(_ stats: JobStats) -> JSONValue {
        [
            "pending": .int(Int64(stats.pending)), "running": .int(Int64(stats.running)),
            "completed": .int(Int64(stats.completed)), "failed": .int(Int64(stats.failed)),
            "cancelled": .int(Int64(stats.cancelled)),
        ]
    }

    static func queue(_ queue: QueueInfo, now: Date) -> JSONValue {
        [
            "name": .string(queue.name), "counts": counts(queue.counts), "paused": .bool(queue.paused),
            "concurrency": queue.concurrency.map { .int(Int64($0)) } ?? .null,
            "oldestReadyRunAt": time(queue.oldestReadyRunAt),
            "oldestReadySeconds": queue.oldestReadyRunAt.map { seconds(max(0, now.timeIntervalSince($0))) } ?? .null,
        ]
    }

    static func supervisor(_ worker: WorkerRecord, now: Date) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(worker.id), "pid": .int(Int64(worker.pid)), "host": .string(worker.host),
            "startedAt": time(worker.startedAt), "heartbeat": time(worker.heartbeat),
            "heartbeatAgeSeconds": seconds(max(0, now.timeIntervalSince(worker.heartbeat))),
            "expiresAt": time(worker.expiresAt), "alive": .bool(OverviewSnapshot.isAlive(worker, at: now)),
        ]
        members["stats"] = worker.stats.map { encode($0) } ?? .null
        return .object(members)
    }

    static func schedule(_ schedule: AgentSchedule) -> JSONValue {
        guard var members = encode(schedule).objectValue else { return .null }
        members["methodArgs"] = ArgumentRedaction.redact(.object(schedule.methodArgs))
        members["agentConfig"] = schedule.agentConfig.map { ArgumentRedaction.redact(.object($0)) } ?? .null
        members["lastError"] = schedule.lastError.map { .string(ArgumentRedaction.redact(text: $0)) } ?? .null
        for key in ["tenantId", "agentId", "lastRun", "nextRun", "lastStatus"] where members[key] == nil {
            members[key] = .null
        }
        return .object(members)
    }

    static func tally(_ tally: MinuteTally) -> JSONValue {
        ["minute": time(tally.minute), "completed": .int(Int64(tally.completed)), "failed": .int(Int64(tally.failed))]
    }

    /// How fresh the cached figures are.
    static func freshness(_ snapshot: OverviewSnapshot, now: Date) -> JSONValue {
        [
            "asOf": time(snapshot.takenAt), "ageSeconds": seconds(max(0, now.timeIntervalSince(snapshot.receivedAt))),
            "refreshMilliseconds": .int(Int64(snapshot.duration / .milliseconds(1))),
        ]
    }
}
