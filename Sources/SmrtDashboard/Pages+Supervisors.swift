import Foundation
import SmrtJobs

extension Pages {
    /// Every lease row: host, pid, start, heartbeat age, alive or expired; each worker (pid, state, RSS, current
    /// job, jobs done) and the supervisor's counters, as its last snapshot says.
    static func supervisors(_ records: [WorkerRecord], now: Date, frame: Frame) -> HTML {
        let sections = records.map { record -> HTML in
            let alive = OverviewSnapshot.isAlive(record, at: now)
            let state: HTML = alive ? "<span class=\"badge alive\">alive</span>" : "<span class=\"badge expired\">expired</span>"
            var details = HTML.empty
            if let stats = record.stats {
                details = "\(workerTable(stats, now: now))\(counters(stats))"
            } else {
                details = "<p class=\"muted\">No snapshot published (not a supervisor, or one older than the dashboard).</p>"
            }
            return """
                <section class="supervisor" id="supervisor-\(record.id)" data-supervisor-id="\(record.id)" \
                data-alive="\(alive ? "1" : "0")"><h2>\(record.host) pid \(record.pid) \(state)</h2>\
                <table class="supervisor-fields"><tr><th scope="row">lease id</th><td class="lease-id">\(record.id)</td></tr>\
                <tr><th scope="row">started</th><td>\(timeTag(record.startedAt))</td></tr>\
                <tr><th scope="row">heartbeat</th><td class="heartbeat-age">\(age(now.timeIntervalSince(record.heartbeat))) ago</td></tr>\
                <tr><th scope="row">lease until</th><td>\(timeTag(record.expiresAt))</td></tr></table>\(details)</section>
                """
        }
        let empty: HTML = records.isEmpty ? "<p id=\"no-supervisors\" class=\"muted\">No supervisor holds a lease.</p>" : .empty
        return layout("Supervisors", frame, "<div id=\"supervisors\">\(sections)\(empty)</div>")
    }

    static func workerTable(_ stats: SupervisorSnapshot, now: Date) -> HTML {
        let rows = stats.workers.map { worker -> HTML in
            var job = HTML.empty
            if let id = worker.jobId {
                let running = worker.jobStartedAt.map { " for \(age(now.timeIntervalSince($0)))" } ?? ""
                job = "<a class=\"worker-job\" href=\"/jobs/\(id)\">\(id)</a> \(worker.jobLabel ?? "")\(running)"
            }
            return """
                <tr class="worker-row" data-pid="\(worker.pid)"><td class="num">\(worker.pid)</td><td class="worker-state">\
                \(worker.state)</td><td class="num">\(bytes(worker.rssBytes))</td><td>\(job)</td><td class="num">\
                \(worker.jobsDone)</td><td>\(timeTag(worker.startedAt))</td></tr>
                """
        }
        return """
            <table class="workers-table"><thead><tr><th class="num">pid</th><th>state</th><th class="num">RSS</th>\
            <th>current job</th><th class="num">jobs done</th><th>started</th></tr></thead><tbody>\(rows)</tbody></table>\
            <p class="muted">\(stats.configuredWorkers) workers configured; queues: \(stats.queues?.joined(separator: ", ") ?? "all"); \
            snapshot taken \(age(now.timeIntervalSince(stats.takenAt))) ago.</p>
            """
    }

    static func counters(_ stats: SupervisorSnapshot) -> HTML {
        let finished = stats.finished.sorted { ($0.queue, $0.type, $0.outcome.rawValue) < ($1.queue, $1.type, $1.outcome.rawValue) }
            .map { count -> HTML in
                "<tr><td>\(count.queue)</td><td>\(count.type)</td><td>\(count.outcome.rawValue)</td><td class=\"num\">\(count.count)</td></tr>"
            }
        let exits = WorkerExitReason.allCases.map { reason -> HTML in
            "<tr><td>\(reason.rawValue)</td><td class=\"num\">\(stats.workerExits[reason.rawValue] ?? 0)</td></tr>"
        }
        func histogram(_ name: String, _ h: HistogramSnapshot) -> HTML {
            let mean = h.count > 0 ? String(format: "%.3f s", h.sum / Double(h.count)) : "-"
            return "<tr><td>\(name)</td><td class=\"num\">\(h.count)</td><td class=\"num\">\(mean)</td></tr>"
        }
        return """
            <div class="counters"><table class="finished-table"><caption>attempts finished</caption><thead><tr><th>queue</th>\
            <th>type</th><th>outcome</th><th class="num">count</th></tr></thead><tbody>\(finished)</tbody></table>\
            <table class="exits-table"><caption>worker exits</caption><tbody>\(exits)<tr><td>jobs pruned</td><td class="num">\
            \(stats.jobsPruned)</td></tr></tbody></table>\
            <table class="histograms-table"><caption>timings</caption><thead><tr><th></th><th class="num">count</th>\
            <th class="num">mean</th></tr></thead><tbody>\(histogram("job duration", stats.jobDuration))\
            \(histogram("queue wait", stats.queueWait))\(histogram("kill lateness", stats.killLateness))</tbody></table></div>
            """
    }
}
