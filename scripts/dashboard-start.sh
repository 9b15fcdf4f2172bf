# Sourced by scripts/demo.sh and scripts/screenshots.sh: starts smrt-dashboard on a free loopback port.
#
#   start_dashboard BIN_DIR DB DIR   sets dashboard_pid and dashboard_url (the dashboard's first line of stdout),
#                                    logs to DIR/dashboard.log; returns 1, having printed that log, if it did not start
start_dashboard() {
    local bin="$1" db="$2" dir="$3"
    "$bin/smrt-dashboard" --db "$db" --listen 127.0.0.1:0 >"$dir/dashboard.url" 2>"$dir/dashboard.log" &
    dashboard_pid=$!
    dashboard_url=""
    for _ in $(seq 1 100); do
        dashboard_url=$(head -n 1 "$dir/dashboard.url" 2>/dev/null || true)
        if [ -n "$dashboard_url" ] || ! kill -0 "$dashboard_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    case "$dashboard_url" in
        http://*) return 0 ;;
        *) echo "smrt-dashboard did not start; its log:" >&2; cat "$dir/dashboard.log" >&2; return 1 ;;
    esac
}
