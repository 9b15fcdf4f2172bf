import Foundation
import SmrtJobs

/// Tables, `key: value` lines and JSON for the commands' output.
enum Output {
    // MARK: Human output

    /// A time to seconds precision in UTC, `2026-11-29T10:05:00Z`; `-` for none.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        return String(Timestamp.format(date).prefix(19)) + "Z"
    }

    /// One line, at most `width` characters (an ellipsis marks a cut).
    static func truncate(_ text: String?, _ width: Int) -> String {
        guard let text, !text.isEmpty else { return "-" }
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }

    /// Columns padded to their widest cell, two spaces apart; the last column is not padded.
    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        let all = [headers] + rows
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Error text as the CLI prints it: passwords in URLs and secret-looking values redacted, whoever stored it
    /// (as stored with `reveal`).
    static func redacted(_ text: String?, reveal: Bool = false) -> String? {
        reveal ? text : text.map(ArgumentRedaction.redact(text:))
    }

    /// Args, results and configs as the CLI prints them: values of secret-looking keys and URL passwords
    /// replaced by `[REDACTED]`, unless `reveal` (`--reveal`, for an administrator).
    static func redacted(_ value: JSONValue, reveal: Bool) -> JSONValue {
        reveal ? value : ArgumentRedaction.redact(value)
    }

    /// `key: value` lines in the given order.
    static func lines(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
    }

    /// Attempts a job may have: a row stored with max_attempts 0 (before 0 was kept as 1) runs once too.
    static func attemptsAllowed(_ job: SmrtJob) -> Int { max(1, job.maxAttempts) }

    static func jobTable(_ jobs: [SmrtJob], reveal: Bool) -> String {
        table(
            ["ID", "STATUS", "QUEUE", "PRI", "ATTEMPTS", "JOB", "RUN AT", "LAST ERROR"],
            jobs.map { job in
                [
                    String(job.id), job.status.rawValue, job.queue, String(job.priority),
                    "\(job.attempts)/\(attemptsAllowed(job))", job.description, time(job.runAt), truncate(redacted(job.lastError, reveal: reveal), 40),
                ]
            })
    }

    static func jobLines(_ job: SmrtJob, reveal: Bool) -> String {
        var pairs: [(String, String)] = [
            ("id", String(job.id)),
            ("job", job.description),
            ("status", job.status.rawValue),
            ("queue", job.queue),
            ("objectType", job.objectType),
            ("objectId", job.objectId ?? "-"),
            ("method", job.method),
            ("args", redacted(.object(job.args), reveal: reveal).jsonText),
            ("priority", String(job.priority)),
            ("runAt", time(job.runAt)),
            ("attempts", String(job.attempts)),
            ("maxAttempts", String(attemptsAllowed(job))),
            ("timeout", "\(job.timeout) ms"),
            ("timeoutBehavior", job.timeoutBehavior.rawValue),
            ("retryStrategy", job.retryStrategy.jsonValue.jsonText),
            ("startedAt", time(job.startedAt)),
            ("completedAt", time(job.completedAt)),
            ("lastError", redacted(job.lastError, reveal: reveal) ?? "-"),
            ("resultPointer", job.resultPointer ?? "-"),
            ("result", job.result.map { redacted($0, reveal: reveal).jsonText } ?? "-"),
            ("progress", job.progress.map { progress($0, reveal: reveal) } ?? "-"),
            ("workerId", job.workerId ?? "-"),
            ("workerHeartbeat", time(job.workerHeartbeat)),
            ("workerPid", job.workerPid.map { String($0) } ?? "-"),
            ("workerExit", job.workerExit ?? "-"),
            ("tenantId", job.tenantId ?? "-"),
            ("createdAt", time(job.createdAt)),
            ("updatedAt", time(job.updatedAt)),
        ]
        if let key = job.uniqueKey { pairs.append(("uniqueKey", key)) }
        return lines(pairs)
    }

    /// `42% page 21 of 50 (3 s ago)`: whole percent rounded down (100% only when the job said 1), the message
    /// (redacted as errors are, unless `reveal`), and how long ago it came.
    static func progress(_ progress: JobProgress, reveal: Bool, now: Date = Date()) -> String {
        let percent = Int((progress.fraction * 100).rounded(.down))
        let message = redacted(progress.message, reveal: reveal).map { " " + truncate($0, 200) } ?? ""
        return "\(percent)%\(message) (\(age(now.timeIntervalSince(progress.updatedAt))) ago)"
    }

    /// `3 s`, `4 min`, `2 h`, `3 d` (a time in the future, a clock ahead of this one: `0 s`).
    static func age(_ seconds: TimeInterval) -> String {
        let whole = Int(max(0, seconds).rounded(.down))
        switch whole {
        case ..<120: return "\(whole) s"
        case ..<7200: return "\(whole / 60) min"
        case ..<172_800: return "\(whole / 3600) h"
        default: return "\(whole / 86_400) d"
        }
    }

    static func statsLines(_ stats: JobStats) -> String {
        lines([
            ("pending", String(stats.pending)), ("running", String(stats.running)),
            ("completed", String(stats.completed)), ("failed", String(stats.failed)),
            ("cancelled", String(stats.cancelled)),
        ])
    }

    /// `Type#id.method`, or `Type.method` for a static target.
    static func target(_ schedule: AgentSchedule) -> String {
        if let agentId = schedule.agentId { return "\(schedule.agentType)#\(agentId).\(schedule.method)" }
        return "\(schedule.agentType).\(schedule.method)"
    }

    static func scheduleTable(_ schedules: [AgentSchedule], reveal: Bool) -> String {
        table(
            ["ID", "STATUS", "CRON", "TZ", "TARGET", "NEXT RUN", "LAST RUN", "RUNS", "OK", "FAILED", "LAST ERROR"],
            schedules.map { s in
                [
                    String(s.id), s.status.rawValue, s.cron, s.timezone, target(s), time(s.nextRun), time(s.lastRun),
                    String(s.runCount), String(s.successCount), String(s.failureCount), truncate(redacted(s.lastError, reveal: reveal), 40),
                ]
            })
    }

    // MARK: JSON

    /// Exactly `{"pending":n,"running":n,"completed":n,"failed":n,"cancelled":n}`, in that order.
    static func statsJSON(_ stats: JobStats) -> String {
        "{\"pending\":\(stats.pending),\"running\":\(stats.running),\"completed\":\(stats.completed),"
            + "\"failed\":\(stats.failed),\"cancelled\":\(stats.cancelled)}"
    }

    /// A Codable model (`SmrtJob`, `AgentSchedule`) as JSON with its camelCase keys, dates as ISO-8601 text
    /// (`Timestamp.format`), and absent optional fields written as null so every key is always there.
    /// `lastError`, `progress.message`, `args`, `result`, `methodArgs` and `agentConfig` are redacted as in the
    /// human output, unless `reveal`.
    static func json<T: Encodable>(_ value: T, reveal: Bool) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        let json = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
        guard var members = json.objectValue else { return json }
        if !reveal {
            if case .string(let error) = members["lastError"] { members["lastError"] = .string(ArgumentRedaction.redact(text: error)) }
            if case .object(var progress) = members["progress"], case .string(let message) = progress["message"] {
                progress["message"] = .string(ArgumentRedaction.redact(text: message))
                members["progress"] = .object(progress)
            }
            for key in ["args", "result", "methodArgs", "agentConfig"] {
                if let member = members[key] { members[key] = ArgumentRedaction.redact(member) }
            }
        }
        for child in Mirror(reflecting: value).children {
            guard let label = child.label, members[label] == nil else { continue }
            let mirror = Mirror(reflecting: child.value)
            if mirror.displayStyle == .optional, mirror.children.isEmpty { members[label] = .null }
        }
        return .object(members)
    }

    /// A JSON array with one element per line: valid JSON, and still readable with grep.
    static func jsonArray(_ elements: [JSONValue]) -> String {
        if elements.isEmpty { return "[]" }
        return "[\n" + elements.map(\.jsonText).joined(separator: ",\n") + "\n]"
    }

    static func plural(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
}
