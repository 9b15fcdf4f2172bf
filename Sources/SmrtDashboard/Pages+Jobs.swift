import Foundation
import SmrtJobs

extension Pages {
    /// One keyset page of jobs (newest first) with the filter form, an "older" link, the note when the scan
    /// limit cut the page short, and the bulk retry of the failed jobs the filter matches.
    static func jobs(_ page: JobPage, filter: JobsFilter, scanLimit: Int, frame: Frame, now: Date = Date()) -> HTML {
        let statusOptions = ([nil] + JobStatus.allCases.map(Optional.some)).map { status -> HTML in
            let selected: HTML = status == filter.status ? " selected" : ""
            return "<option value=\"\(status?.rawValue ?? "")\"\(selected)>\(status?.rawValue ?? "any status")</option>"
        }
        let form: HTML = """
            <form id="jobs-filter" method="get" action="/jobs" class="filters">\
            <label>status <select name="status" id="filter-status">\(statusOptions)</select></label>\
            <label>queue <input name="queue" id="filter-queue" value="\(filter.queue ?? "")"></label>\
            <label>type <input name="type" id="filter-type" value="\(filter.type ?? "")"></label>\
            <label>error contains <input name="error" id="filter-error" value="\(filter.error ?? "")"></label>\
            <button type="submit" id="filter-apply">Filter</button> <a href="/jobs" id="filter-clear">clear</a></form>
            """
        let rows = page.jobs.map { job -> HTML in
            let progress: HTML = job.progress.map { progress in
                "<progress max=\"1\" value=\"\(progress.fraction)\">\(Int((progress.fraction * 100).rounded()))%</progress>"
            } ?? .empty
            return """
                <tr class="job-row" data-job-id="\(job.id)" data-status="\(job.status.rawValue)"><td class="num"><a class="job-link" \
                href="/jobs/\(job.id)">\(job.id)</a></td><td>\(statusBadge(job.status))</td><td class="queue">\(job.queue)</td>\
                <td class="job-label">\(job.description)</td><td class="num">\(job.attempts)/\(max(1, job.maxAttempts))</td>\
                <td>\(timeTag(job.runAt))</td><td>\(timeTag(job.completedAt))</td><td class="error">\(progress)\
                \(truncate(job.lastError.map(ArgumentRedaction.redact(text:)), 120))</td></tr>
                """
        }
        let empty: HTML = page.jobs.isEmpty ? "<tr><td colspan=\"8\" class=\"muted\">No jobs match on this page.</td></tr>" : .empty
        var notes: [HTML] = []
        if page.scanLimitReached {
            notes.append("""
                <p id="scan-limit-note" class="flash flash-warn">This page stopped after examining \(scanLimit) jobs below \
                \(filter.before.map { "job \($0)" } ?? "the newest") and holds only \(page.jobs.count) matches: older matches \
                may follow.</p>
                """)
        }
        var links: [HTML] = []
        if filter.before != nil { links.append("<a id=\"newest-link\" href=\"/jobs\(filter.queryString(before: nil))\">newest</a>") }
        if let next = page.nextBeforeId {
            links.append("<a id=\"older-link\" rel=\"next\" href=\"/jobs\(filter.queryString(before: next))\">older →</a>")
        }
        var bulk = HTML.empty
        if !frame.readOnly && (filter.status == nil || filter.status == .failed) {
            let fields = [("queue", filter.queue ?? ""), ("type", filter.type ?? ""), ("error", filter.error ?? "")]
            bulk = """
                <div id="bulk-actions">\(actionButton(
                    "/jobs/retry-failed", label: "Retry every failed job matching this filter", id: "bulk-retry",
                    cssClass: "bulk-retry", frame: frame, fields: fields, confirm: true))</div>
                """
        }
        return layout("Jobs", frame, """
            \(form)\(bulk)\(notes)<table id="jobs-table"><thead><tr><th class="num">id</th><th>status</th><th>queue</th>\
            <th>job</th><th class="num">attempts</th><th>run at</th><th>finished</th><th>progress / last error</th></tr></thead>\
            <tbody>\(rows)\(empty)</tbody></table><nav id="pager">\(links)</nav>
            """)
    }

    /// One line, at most `width` characters (an ellipsis marks a cut).
    static func truncate(_ text: String?, _ width: Int) -> String {
        guard let text, !text.isEmpty else { return "" }
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }
}
