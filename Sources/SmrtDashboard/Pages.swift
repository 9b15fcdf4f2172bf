import Foundation
import Hummingbird
import SmrtJobs

/// The server-rendered pages: each a function of what it shows, built with `HTML` (every value escaped). They
/// work without JavaScript; `/static/dashboard.js` only adds the live-refresh switch. Element ids and classes
/// named in docs/dashboard.md are kept stable for scripts and browser tests.
enum Pages {
    /// What every page needs besides its content.
    struct Frame {
        var configuration: DashboardConfiguration
        var session: SessionStore.Session?
        var flash: SessionStore.Flash?
        /// The navigation entry to mark.
        var section: String
        /// Pages worth refreshing live (overview, supervisors, a running job).
        var refreshable = false

        var readOnly: Bool { configuration.readOnly }
        var csrfToken: String { session?.csrfToken ?? "" }
    }

    static func response(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html.text)))
    }

    /// The page around `content`: navigation, flash message, footer.
    static func layout(_ title: String, _ frame: Frame, _ content: HTML) -> HTML {
        let sections: [(String, String, String)] = [
            ("overview", "/", "Overview"), ("jobs", "/jobs", "Jobs"), ("supervisors", "/supervisors", "Supervisors"),
            ("schedules", "/schedules", "Schedules"),
        ]
        let nav = sections.map { id, path, label -> HTML in
            let current: HTML = id == frame.section ? " aria-current=\"page\" class=\"current\"" : ""
            return "<a id=\"nav-\(id)\" href=\"\(path)\"\(current)>\(label)</a>"
        }
        var flash = HTML.empty
        if let message = frame.flash {
            flash = "<p id=\"flash\" class=\"flash \(message.isError ? "flash-error" : "flash-ok")\" role=\"status\">\(message.message)</p>"
        }
        var tools: [HTML] = []
        if frame.readOnly { tools.append("<span id=\"read-only\" class=\"badge\">read-only</span>") }
        if frame.refreshable {
            tools.append("<label class=\"live\"><input type=\"checkbox\" id=\"live-refresh\"> live</label>")
        }
        if frame.configuration.token != nil, frame.session?.authenticated == true {
            tools.append("""
                <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="\(frame.csrfToken)">\
                <button id="logout" type="submit">Log out</button></form>
                """)
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · smrt-jobs</title><link rel="stylesheet" href="/static/dashboard.css">
            <script src="/static/dashboard.js" defer></script></head>
            <body data-section="\(frame.section)"\(frame.refreshable ? refreshAttribute : HTML.empty)>
            <header><strong class="brand">smrt-jobs</strong><nav id="nav">\(nav)</nav><span class="tools">\(tools)</span></header>
            <main id="main"><h1>\(title)</h1>\(flash)\(content)</main>
            </body></html>
            """
    }

    private static let refreshAttribute: HTML = " data-refreshable=\"1\""

    /// A form that POSTs to `action` with the CSRF token, showing one button (nothing in read-only mode).
    static func actionButton(
        _ action: String, label: String, id: String? = nil, cssClass: String, frame: Frame, fields: [(String, String)] = [],
        confirm: Bool = false
    ) -> HTML {
        if frame.readOnly { return .empty }
        let hidden = fields.map { name, value -> HTML in "<input type=\"hidden\" name=\"\(name)\" value=\"\(value)\">" }
        let idAttribute: HTML = id.map { "id=\"\($0)\" " } ?? ""
        let confirmAttribute: HTML = confirm ? " data-confirm=\"1\"" : ""
        return """
            <form method="post" action="\(action)" class="inline"><input type="hidden" name="csrf" value="\(frame.csrfToken)">\
            \(hidden)<button \(idAttribute)class="\(cssClass)" type="submit"\(confirmAttribute)>\(label)</button></form>
            """
    }

    /// An error as a page (a 404 job, a 403 action, a 400 filter).
    static func errorPage(_ error: APIError, configuration: DashboardConfiguration, session: SessionStore.Session?) -> Response {
        let frame = Frame(configuration: configuration, session: session, section: "")
        let html = layout(
            "\(error.status.code) \(error.status.reasonPhrase)", frame,
            "<p id=\"error-message\" class=\"flash flash-error\">\(error.message)</p><p><a href=\"/\">Back to the overview</a></p>")
        return response(html, status: error.status)
    }

    // MARK: Formatting

    /// `2026-11-29 10:05:00Z`, or `-`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let text = Timestamp.format(date)
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + "Z"
    }

    /// `<time>` with the full timestamp as its machine-readable value.
    static func timeTag(_ date: Date?) -> HTML {
        guard let date else { return "-" }
        return "<time datetime=\"\(Timestamp.format(date))\">\(time(date))</time>"
    }

    /// `3 s`, `4 min`, `2 h 5 min`, `3 d`.
    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, seconds)
        if s < 1 { return "\(Int((s * 1000).rounded())) ms" }
        if s < 120 { return "\(Int(s.rounded())) s" }
        if s < 7200 { return "\(Int((s / 60).rounded())) min" }
        if s < 172_800 { return "\(Int(s / 3600)) h \(Int(s.truncatingRemainder(dividingBy: 3600) / 60)) min" }
        return "\(Int(s / 86_400)) d"
    }

    /// `12.3 MiB`.
    static func bytes(_ count: UInt64?) -> String {
        guard let count else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// "counts as of 3 s ago", with how long the refresh took.
    static func freshness(_ snapshot: OverviewSnapshot?, lastError: String?, now: Date = Date()) -> HTML {
        guard let snapshot else {
            if let lastError { return "<p id=\"freshness\" class=\"flash flash-error\">Counts could not be read: \(lastError)</p>" }
            return "<p id=\"freshness\" class=\"muted\">Counts are being read; reload in a moment.</p>"
        }
        let took = Double(snapshot.duration / .milliseconds(1))
        var html: HTML = """
            <p id="freshness" class="muted" data-age-seconds="\(Int(max(0, now.timeIntervalSince(snapshot.receivedAt)).rounded()))">\
            Counts as of \(age(now.timeIntervalSince(snapshot.receivedAt))) ago (read in \(Int(took)) ms, refreshed in the background).</p>
            """
        if let lastError { html = "\(html)<p class=\"flash flash-error\">The last refresh failed: \(lastError)</p>" }
        return html
    }

    static func statusBadge(_ status: JobStatus) -> HTML {
        "<span class=\"status status-\(status.rawValue)\">\(status.rawValue)</span>"
    }
}
