#!/usr/bin/env bash
# Screenshots of the dashboard for the docs, taken with headless Chromium from real data: builds smrt-jobs,
# runs smrt-supervisor with the demo worker and smrt-dashboard beside it on a fresh SQLite file, feeds it the
# demo's jobs (a crash, a kill timeout, a failure, a cron schedule) and a few minutes of ordinary traffic on
# three queues (a paused fourth one holds a backlog), then saves
#   docs/images/overview.png      the overview
#   docs/images/job.png           a running job with its progress bar
#   scripts/screenshots.sh [--minutes N] [--out DIR] [--keep]     (N minutes of traffic, default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
SMRT_DEPS_FOR_BROWSER=1 source scripts/ensure-deps.sh

minutes=4
out=docs/images
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "usage: scripts/screenshots.sh [--minutes N] [--out DIR] [--keep]" >&2; exit 2 ;;
    esac
done
if ! [[ "$minutes" =~ ^[1-9][0-9]*$ ]]; then echo "screenshots.sh: --minutes needs a positive number" >&2; exit 2; fi
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then echo "screenshots.sh: no chromium" >&2; exit 1; fi

echo "==> building (release)"
swift build -c release 2>&1 | grep -E "error|Build complete" | tail -n 1
bin="$(swift build -c release --show-bin-path)"
jobs="$bin/smrt-jobs"

dir="$(mktemp -d /tmp/smrt-screenshots.XXXXXX)"
export SMRT_DB="$dir/jobs.sqlite"
supervisor_pid=""
dashboard_pid=""
# The dashboard stops gracefully (SIGTERM); the supervisor at once (SIGQUIT: the long progress job is still running).
cleanup() {
    [ -n "$dashboard_pid" ] && kill -TERM "$dashboard_pid" 2>/dev/null || true
    [ -n "$supervisor_pid" ] && kill -QUIT "$supervisor_pid" 2>/dev/null || true
    for pid in $dashboard_pid $supervisor_pid; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$keep" = 1 ]; then echo "(kept $dir)"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> enqueueing $minutes minutes of jobs into $SMRT_DB"
# Every 5 s of the coming minutes: mail sends, report builds and small default jobs; now and then a failure.
python3 - "$minutes" > "$dir/traffic.jsonl" <<'PY'
import json, random, sys
random.seed(10)
minutes = int(sys.argv[1])
def job(queue, method, args, delay_ms, **more):
    print(json.dumps(dict(objectType="Demo", method=method, args=args, queue=queue, delay=delay_ms, **more)))
for tick in range(minutes * 12):
    at = tick * 5000
    for _ in range(random.randint(4, 9)):
        job("mail", "sleep", {"ms": random.randint(20, 200)}, at + random.randint(0, 4999))
    for _ in range(random.randint(1, 3)):
        job("reports", "sleep", {"ms": random.randint(300, 900)}, at + random.randint(0, 4999))
    for _ in range(random.randint(2, 6)):
        job("default", "echo", {"tick": tick}, at + random.randint(0, 4999))
    if tick % 5 == 2:
        job("mail", "fail", {"message": "SMTP 550: mailbox unavailable for customer %d" % (1000 + tick)}, at, retries=2)
PY
"$jobs" enqueue --batch "$dir/traffic.jsonl" >/dev/null
# The demo's own jobs, and one that reports its progress for longer than the script runs.
"$jobs" enqueue Demo echo --args '{"hello":"world"}' >/dev/null
"$jobs" enqueue Demo print --args '{"text":"hello from a job"}' >/dev/null
"$jobs" enqueue Demo crash --args '{"signal":"SEGV"}' --retries 2 --queue reports >/dev/null
"$jobs" enqueue Demo spin --timeout 1500 --timeout-behavior kill --retries 1 >/dev/null
"$jobs" enqueue Demo fail --args '{"message":"invoice 42 has no customer"}' --retries 1 >/dev/null
progress_id=$("$jobs" enqueue Demo progress --args "{\"steps\":1000,\"ms\":$(( (minutes + 5) * 60000 ))}" --queue reports \
    --timeout $(( (minutes + 10) * 60000 )))
"$jobs" schedule add --cron '* * * * *' --type Demo --method echo --args '{"from":"cron"}' >/dev/null
# A paused queue with a backlog: the overview shows its age.
for i in $(seq 1 25); do echo '{"objectType":"Demo","method":"noop","queue":"exports"}'; done > "$dir/exports.jsonl"
"$jobs" enqueue --batch "$dir/exports.jsonl" >/dev/null
"$jobs" queue pause exports >/dev/null

echo "==> starting smrt-supervisor --workers 3 and smrt-dashboard"
"$bin/smrt-supervisor" --db "$SMRT_DB" --workers 3 --worker-exec "$bin/smrt-demo-worker" --log-format text 2>"$dir/supervisor.log" &
supervisor_pid=$!
source scripts/dashboard-start.sh
start_dashboard "$bin" "$SMRT_DB" "$dir" || exit 1
url="$dashboard_url"
echo "    $url"

echo "==> running the traffic ($minutes min), then waiting for every job but the long one and the paused queue"
deadline=$((SECONDS + minutes * 60 + 120))
while :; do
    # Pending or running, but for the paused queue and the progress job.
    left=$("$jobs" queue list --json |
        python3 -c 'import json,sys; print(sum(q["pending"] + q["running"] for q in json.load(sys.stdin) if q["name"] != "exports") - 1)')
    if [ "$left" -eq 0 ]; then break; fi
    if [ $SECONDS -ge $deadline ]; then echo "    gave up waiting: $left job(s) left" >&2; exit 1; fi
    if ! kill -0 "$supervisor_pid" 2>/dev/null; then echo "smrt-supervisor exited:" >&2; tail -20 "$dir/supervisor.log" >&2; exit 1; fi
    sleep 1
done
# The dashboard's counts are read in the background every few seconds: let the overview catch up.
sleep 5

shot() {
    local file="$1" path="$2"
    local sandbox=()
    [ "$(id -u)" -eq 0 ] && sandbox=(--no-sandbox)
    "$chromium" --headless=new "${sandbox[@]}" --disable-gpu --hide-scrollbars --no-first-run \
        --user-data-dir="$dir/chromium" --window-size=1280,900 --screenshot="$out/$file" "${url%/}$path" >/dev/null 2>&1
    echo "    $out/$file  <- ${url%/}$path"
}
mkdir -p "$out"
echo "==> screenshots"
shot overview.png /
shot job.png "/jobs/$progress_id"
