import Foundation
import SmrtJobs

extension Pages {
    /// Counts per queue × status with pause/resume/limit, the last hour per minute as an SVG chart, the oldest
    /// ready job per queue, supervisors alive; from the cached snapshot (the page says how fresh).
    static func overview(_ snapshot: OverviewSnapshot?, lastError: String?, frame: Frame, now: Date = Date()) -> HTML {
        let freshness = freshness(snapshot, lastError: lastError, now: now)
        guard let snapshot else { return layout("Overview", frame, freshness) }
        let live = snapshot.liveWorkers
        let busy = live.compactMap(\.stats).flatMap(\.workers).filter { $0.state == "busy" }.count
        let totals = snapshot.totals
        let summary: HTML = """
            <section id="summary" class="cards">\
            <a class="card" href="/jobs?status=pending"><span class="figure" id="total-pending">\(totals.pending)</span> pending</a>\
            <a class="card" href="/jobs?status=running"><span class="figure" id="total-running">\(totals.running)</span> running</a>\
            <a class="card" href="/jobs?status=failed"><span class="figure" id="total-failed">\(totals.failed)</span> failed</a>\
            <a class="card" href="/supervisors"><span class="figure" id="supervisors-alive">\(live.count)</span> supervisors alive \
            (\(busy) busy workers)</a></section>
            """
        return layout("Overview", frame, "\(freshness)\(summary)\(chart(snapshot.lastHour()))\(queueTable(snapshot, frame: frame))")
    }

    static func queueTable(_ snapshot: OverviewSnapshot, frame: Frame) -> HTML {
        let statuses = JobStatus.allCases
        let header = statuses.map { status -> HTML in "<th class=\"num\">\(status.rawValue)</th>" }
        let rows = snapshot.queues.map { queue -> HTML in
            let counts = [queue.counts.pending, queue.counts.running, queue.counts.completed, queue.counts.failed, queue.counts.cancelled]
            let cells = zip(statuses, counts).map { status, count -> HTML in
                let link = "/jobs" + URLQuery.string([("status", status.rawValue), ("queue", queue.name)])
                return "<td class=\"num count-\(status.rawValue)\"><a href=\"\(link)\">\(count)</a></td>"
            }
            let oldest = queue.oldestReadyRunAt.map { age(snapshot.takenAt.timeIntervalSince($0)) } ?? "-"
            let state: HTML = queue.paused ? "<span class=\"badge paused\">paused</span>" : "<span class=\"badge running\">running</span>"
            let limit = queue.concurrency.map(String.init) ?? "unlimited"
            var actions: [HTML] = []
            if !frame.readOnly {
                actions.append(
                    queue.paused
                        ? actionButton("/queues/resume", label: "Resume", cssClass: "queue-resume", frame: frame, fields: [("queue", queue.name)])
                        : actionButton("/queues/pause", label: "Pause", cssClass: "queue-pause", frame: frame, fields: [("queue", queue.name)]))
                actions.append("""
                    <form method="post" action="/queues/limit" class="inline queue-limit-form"><input type="hidden" name="csrf" \
                    value="\(frame.csrfToken)"><input type="hidden" name="queue" value="\(queue.name)"><input class="queue-limit" \
                    name="limit" size="5" placeholder="none" value="\(queue.concurrency.map(String.init) ?? "")" \
                    aria-label="concurrency limit of \(queue.name)"><button class="queue-set-limit" type="submit">Set limit</button></form>
                    """)
            }
            return """
                <tr class="queue-row" data-queue="\(queue.name)"><th scope="row"><a href="/jobs\(URLQuery.string([("queue", queue.name)]))">\
                \(queue.name)</a></th>\(cells)<td class="num oldest-ready">\(oldest)</td><td>\(state)</td><td class="num">\(limit)</td>\
                <td class="actions">\(actions)</td></tr>
                """
        }
        let empty: HTML = snapshot.queues.isEmpty ? "<tr><td colspan=\"10\" class=\"muted\">No queues yet.</td></tr>" : .empty
        return """
            <h2>Queues</h2><table id="queues-table"><thead><tr><th>queue</th>\(header)<th class="num">oldest ready</th>\
            <th>state</th><th class="num">limit</th><th></th></tr></thead><tbody>\(rows)\(empty)</tbody></table>
            """
    }

    /// Completed (stacked under failed) jobs per minute over the last hour, as inline SVG with a text title per
    /// minute (read by screen readers and shown as a tooltip).
    static func chart(_ minutes: [MinuteTally]) -> HTML {
        let width = 720.0
        let height = 140.0
        let barWidth = width / Double(max(1, minutes.count))
        let peak = max(1, minutes.map { $0.completed + $0.failed }.max() ?? 1)
        let scale = (height - 20) / Double(peak)
        let bars = minutes.enumerated().map { index, tally -> HTML in
            let x = Double(index) * barWidth
            let completedHeight = Double(tally.completed) * scale
            let failedHeight = Double(tally.failed) * scale
            let label = "\(time(tally.minute)): \(tally.completed) completed, \(tally.failed) failed"
            return """
                <g class="minute"><title>\(label)</title>\
                <rect class="bar-completed" x="\(fixed(x))" y="\(fixed(height - completedHeight))" width="\(fixed(barWidth - 1))" \
                height="\(fixed(completedHeight))" fill="#3b8f4f"/>\
                <rect class="bar-failed" x="\(fixed(x))" y="\(fixed(height - completedHeight - failedHeight))" width="\(fixed(barWidth - 1))" \
                height="\(fixed(failedHeight))" fill="#c0392b"/></g>
                """
        }
        let completed = minutes.reduce(0) { $0 + $1.completed }
        let failed = minutes.reduce(0) { $0 + $1.failed }
        return """
            <h2>Last hour</h2><p class="muted"><span id="hour-completed">\(completed)</span> completed, \
            <span id="hour-failed">\(failed)</span> failed for good; peak \(peak) a minute.</p>\
            <svg id="throughput-chart" role="img" aria-label="jobs finished per minute, last hour" viewBox="0 0 \(Int(width)) \(Int(height))" \
            width="\(Int(width))" height="\(Int(height))" xmlns="http://www.w3.org/2000/svg">\
            <line x1="0" y1="\(Int(height))" x2="\(Int(width))" y2="\(Int(height))" stroke="#888"/>\(bars)</svg>\
            <p class="muted axis"><span>\(minutes.first.map { time($0.minute) } ?? "")</span> … \
            <span>\(minutes.last.map { time($0.minute) } ?? "") (now)</span>; green: completed, red: failed for good.</p>
            
            """
    }

    private static func fixed(_ value: Double) -> String {
        String(format: "%.1f", max(0, value))
    }
}
