import Foundation
import SmrtJobs

extension Pages {
    /// Every schedule: cron, time zone, target, next and last run, counters, status; enable, disable, run now.
    static func schedules(_ schedules: [AgentSchedule], frame: Frame) -> HTML {
        let rows = schedules.map { schedule -> HTML in
            let target = schedule.agentId.map { "\(schedule.agentType)#\($0).\(schedule.method)" } ?? "\(schedule.agentType).\(schedule.method)"
            var actions: [HTML] = []
            if schedule.status == .active && schedule.enabled {
                actions.append(actionButton(
                    "/schedules/\(schedule.id)/run", label: "Run now", cssClass: "schedule-run", frame: frame))
                actions.append(actionButton(
                    "/schedules/\(schedule.id)/disable", label: "Disable", cssClass: "schedule-disable", frame: frame))
            } else {
                actions.append(actionButton(
                    "/schedules/\(schedule.id)/enable", label: "Enable", cssClass: "schedule-enable", frame: frame))
            }
            return """
                <tr class="schedule-row" id="schedule-\(schedule.id)" data-schedule-id="\(schedule.id)" \
                data-status="\(schedule.status.rawValue)"><td class="num">\(schedule.id)</td><td class="schedule-status">\
                \(schedule.status.rawValue)</td><td><code>\(schedule.cron)</code></td><td>\(schedule.timezone)</td>\
                <td>\(target)</td><td>\(timeTag(schedule.nextRun))</td><td>\(timeTag(schedule.lastRun)) \
                \(schedule.lastStatus?.rawValue ?? "")</td><td class="num">\(schedule.runCount)</td><td class="num">\
                \(schedule.successCount)</td><td class="num">\(schedule.failureCount)</td><td class="num">\
                \(schedule.runningCount)/\(schedule.maxConcurrent)</td><td class="error">\
                \(truncate(schedule.lastError.map(ArgumentRedaction.redact(text:)), 80))</td><td class="actions">\(actions)</td></tr>
                """
        }
        let empty: HTML = schedules.isEmpty ? "<tr><td colspan=\"13\" class=\"muted\">No schedules.</td></tr>" : .empty
        return layout("Schedules", frame, """
            <table id="schedules-table"><thead><tr><th class="num">id</th><th>status</th><th>cron</th><th>time zone</th>\
            <th>target</th><th>next run</th><th>last run</th><th class="num">runs</th><th class="num">ok</th>\
            <th class="num">failed</th><th class="num">running</th><th>last error</th><th></th></tr></thead>\
            <tbody>\(rows)\(empty)</tbody></table>
            """)
    }

    /// The login form (a token set): one field, the token; `next` is where to go after.
    static func login(next: String, error: String?, configuration: DashboardConfiguration) -> HTML {
        let frame = Frame(configuration: configuration, session: nil, section: "login")
        let message: HTML = error.map { "<p id=\"login-error\" class=\"flash flash-error\">\($0)</p>" } ?? .empty
        return layout("Log in", frame, """
            \(message)<form id="login-form" method="post" action="/login"><input type="hidden" name="next" value="\(next)">\
            <label>Token <input id="login-token" name="token" type="password" autocomplete="current-password" required autofocus>\
            </label> <button id="login-submit" type="submit">Log in</button></form>\
            <p class="muted">The token is the one in the dashboard's --token-file. API clients send it as \
            <code>Authorization: Bearer …</code> instead.</p>
            """)
    }
}
