/// The stylesheet and the script the pages link (served from memory; the CSP allows no inline script or style).
enum StaticAssets {
    static let css = """
        :root { color-scheme: light dark; font-family: system-ui, sans-serif; font-size: 15px; }
        body { margin: 0; }
        header { display: flex; gap: 1.5em; align-items: center; padding: .6em 1.2em; border-bottom: 1px solid #8884; }
        header nav a { margin-right: 1em; text-decoration: none; }
        header nav a.current { font-weight: bold; text-decoration: underline; }
        header .tools { margin-left: auto; display: flex; gap: 1em; align-items: center; }
        main { padding: 0 1.2em 2em; }
        table { border-collapse: collapse; margin: .6em 0 1.2em; }
        th, td { padding: .25em .6em; border-bottom: 1px solid #8883; text-align: left; vertical-align: top; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .muted { color: #888; }
        .flash { padding: .5em .8em; border-radius: 4px; }
        .flash-ok { background: #3b8f4f22; border: 1px solid #3b8f4f; }
        .flash-error { background: #c0392b22; border: 1px solid #c0392b; }
        .flash-warn { background: #e6a23c22; border: 1px solid #e6a23c; }
        .badge, .status { padding: 0 .4em; border-radius: 3px; border: 1px solid #8886; font-size: .9em; }
        .status-failed, .expired, .paused { color: #c0392b; }
        .status-completed, .alive { color: #3b8f4f; }
        .status-running { color: #2a6fb0; }
        .cards { display: flex; gap: 1em; margin: 1em 0; }
        .card { border: 1px solid #8885; border-radius: 6px; padding: .6em 1em; text-decoration: none; color: inherit; }
        .figure { font-size: 1.6em; font-weight: bold; display: block; }
        form.inline { display: inline; }
        .filters label { margin-right: .8em; }
        td.error { max-width: 40em; overflow-wrap: anywhere; }
        pre { background: #8881; padding: .6em; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
        .counters { display: flex; gap: 2em; flex-wrap: wrap; }
        caption { text-align: left; font-weight: bold; }
        #pager a { margin-right: 1em; }
        """

    /// Live refresh (a checkbox kept in localStorage) and confirmation of bulk actions; the pages work without it.
    static let javascript = """
        "use strict";
        (function () {
          var box = document.getElementById("live-refresh");
          if (box && document.body.dataset.refreshable) {
            box.checked = localStorage.getItem("smrt-live") === "1";
            var timer = null;
            var arm = function () {
              if (timer) { clearTimeout(timer); timer = null; }
              if (box.checked) { timer = setTimeout(function () { location.reload(); }, 5000); }
            };
            box.addEventListener("change", function () {
              localStorage.setItem("smrt-live", box.checked ? "1" : "0");
              arm();
            });
            arm();
          }
          document.querySelectorAll("button[data-confirm]").forEach(function (button) {
            button.addEventListener("click", function (event) {
              if (!confirm(button.textContent + "?")) { event.preventDefault(); }
            });
          });
        })();
        """
}
