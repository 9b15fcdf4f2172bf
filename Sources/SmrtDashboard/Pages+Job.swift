import Foundation
import SmrtJobs

extension Pages {
    /// Every field of one job: args and result redacted as in the logs, last error, attempts, timings, progress as
    /// a bar, the worker pid and how its attempt ended; retry and cancel when the status allows them.
    static func job(_ job: SmrtJob, frame: Frame, now: Date = Date()) -> HTML {
        func row(_ label: String, _ id: String, _ value: HTML) -> HTML {
            "<tr id=\"field-\(id)\"><th scope=\"row\">\(label)</th><td>\(value)</td></tr>"
        }
        func text(_ value: String?) -> HTML { "\(value ?? "-")" }
        var timing: [HTML] = []
        if let started = job.startedAt {
            let end = job.completedAt ?? (job.status == .running ? now : nil)
            if let end { timing.append(row("ran for", "duration", "\(age(end.timeIntervalSince(started)))")) }
            timing.append(row("waited in queue", "queue-wait", "\(age(started.timeIntervalSince(job.runAt)))"))
        }
        var progress = HTML.empty
        if let reported = job.progress {
            let percent = Int((reported.fraction * 100).rounded())
            progress = """
                <section id="job-progress"><h2>Progress</h2><progress id="job-progress-bar" max="1" value="\(reported.fraction)">\
                \(percent)%</progress> <span id="job-progress-percent">\(percent)%</span> <span id="job-progress-message">\
                \(reported.message ?? "")</span> <span class="muted">(reported \(age(now.timeIntervalSince(reported.updatedAt))) ago)</span></section>
                """
        }
        let args = ArgumentRedaction.redact(.object(job.args))
        let result = job.result.map(ArgumentRedaction.redact)
        var actions: [HTML] = []
        if job.status != .completed {
            actions.append(actionButton("/jobs/\(job.id)/retry", label: "Retry", id: "job-retry", cssClass: "job-retry", frame: frame))
        }
        if job.status == .pending || job.status == .running || job.status == .failed {
            actions.append(actionButton("/jobs/\(job.id)/cancel", label: "Cancel", id: "job-cancel", cssClass: "job-cancel", frame: frame))
        }
        let fields: [HTML] = [
            row("status", "status", "<span id=\"job-status\">\(statusBadge(job.status))</span>"),
            row("job", "description", text(job.description)),
            row("queue", "queue", "<a href=\"/jobs\(URLQuery.string([("queue", job.queue)]))\">\(job.queue)</a>"),
            row("object type", "object-type", text(job.objectType)),
            row("object id", "object-id", text(job.objectId)),
            row("method", "method", text(job.method)),
            row("priority", "priority", "\(job.priority)"),
            row("attempts", "attempts", "\(job.attempts) of \(max(1, job.maxAttempts))"),
            row("retry strategy", "retry-strategy", text(job.retryStrategy.jsonValue.jsonText)),
            row("timeout", "timeout", "\(job.timeout) ms (\(job.timeoutBehavior.rawValue))"),
            row("run at", "run-at", timeTag(job.runAt)),
            row("created", "created-at", timeTag(job.createdAt)),
            row("started", "started-at", timeTag(job.startedAt)),
            row("finished", "completed-at", timeTag(job.completedAt)),
            row("updated", "updated-at", timeTag(job.updatedAt)),
        ] + timing + [
            row("worker (lease)", "worker-id", text(job.workerId)),
            row("worker heartbeat", "worker-heartbeat", timeTag(job.workerHeartbeat)),
            row("worker pid", "worker-pid", text(job.workerPid.map(String.init))),
            row("how the worker ended it", "worker-exit", text(job.workerExit)),
            row("unique key", "unique-key", text(job.uniqueKey)),
            row("tenant", "tenant-id", text(job.tenantId)),
            row("result pointer", "result-pointer", text(job.resultPointer)),
            row("schedule", "schedule", job.scheduleId.map { "<a href=\"/schedules#schedule-\($0)\">\($0)</a>" } ?? "-"),
        ]
        return layout("Job \(job.id)", Frame(
            configuration: frame.configuration, session: frame.session, flash: frame.flash, section: "jobs",
            refreshable: job.status == .running || job.status == .pending), """
            <div id="job-actions">\(actions)</div>\(progress)<table id="job-fields">\(fields)</table>\
            <h2>Args</h2><pre id="job-args">\(args.jsonText)</pre>\
            <h2>Result</h2><pre id="job-result">\(result?.jsonText ?? "-")</pre>\
            <h2>Last error</h2><pre id="job-error">\(job.lastError.map(ArgumentRedaction.redact(text:)) ?? "-")</pre>
            """)
    }
}
