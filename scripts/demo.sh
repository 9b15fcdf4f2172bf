#!/usr/bin/env bash
# The quick start: builds smrt-jobs, runs smrt-supervisor with the demo worker on an embedded SQLite
# file and smrt-dashboard beside it (its address is printed first), enqueues a mix of jobs (ordinary ones,
# a crashing one, one past its kill timeout, a cron schedule) and shows what happened to each. On a terminal
# the dashboard then stays up until Ctrl-C. Exits 1 when a job did not end as designed.
#   scripts/demo.sh [--workers N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

workers=2
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --workers) workers="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "usage: scripts/demo.sh [--workers N] [--keep]" >&2; exit 2 ;;
    esac
done

echo "==> building (release; the first build takes a few minutes)"
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | tail -n 1
bin="$(swift build -c release --show-bin-path)"
jobs="$bin/smrt-jobs"

dir="$(mktemp -d /tmp/smrt-demo.XXXXXX)"
export SMRT_DB="$dir/demo.sqlite"
log="$dir/supervisor.log"
supervisor_pid=""
dashboard_pid=""
# Stops what is still running: the dashboard gracefully (SIGTERM, then SIGKILL after 5 s), the supervisor at once.
cleanup() {
    if [ -n "$dashboard_pid" ] && kill -0 "$dashboard_pid" 2>/dev/null; then
        kill -TERM "$dashboard_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$dashboard_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$dashboard_pid" 2>/dev/null || true
    fi
    if [ -n "$supervisor_pid" ] && kill -0 "$supervisor_pid" 2>/dev/null; then
        kill -KILL "$supervisor_pid" 2>/dev/null || true
    fi
    if [ "$keep" = 1 ]; then echo "(kept $dir)"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'echo; exit 130' INT
trap 'exit 143' TERM

echo "==> enqueueing into $SMRT_DB"
for i in $(seq 1 20); do echo '{"objectType":"Demo","method":"noop"}'; done > "$dir/noops.jsonl"
"$jobs" enqueue --batch "$dir/noops.jsonl" >/dev/null
echo_id=$("$jobs" enqueue Demo echo --args '{"hello":"world"}')
print_id=$("$jobs" enqueue Demo print --args '{"text":"hello from a job"}')
crash_id=$("$jobs" enqueue Demo crash --args '{"signal":"SEGV"}' --retries 2)
spin_id=$("$jobs" enqueue Demo spin --timeout 1500 --timeout-behavior kill --retries 1)
fail_id=$("$jobs" enqueue Demo fail --args '{"message":"invoice 42 has no customer"}' --retries 1)
late_id=$("$jobs" enqueue Demo echo --args '{"delayed":true}' --delay 3s --priority high)
schedule_id=$("$jobs" schedule add --cron '* * * * *' --type Demo --method echo --args '{"from":"cron"}')
echo "    20 x Demo.noop, echo #$echo_id, print #$print_id, crash(SEGV) #$crash_id,"
echo "    spin with a 1500 ms kill timeout #$spin_id, fail #$fail_id, echo delayed 3 s #$late_id,"
echo "    cron schedule #$schedule_id '* * * * *' (fires at the next minute boundary)"

# The dashboard never creates a database, so it starts once the first enqueue has made the file. Port 0: a free
# one; the dashboard's first line of stdout is its URL.
echo "==> starting smrt-dashboard (log: $dir/dashboard.log)"
source scripts/dashboard-start.sh
start_dashboard "$bin" "$SMRT_DB" "$dir" || exit 1
url="$dashboard_url"
echo "    open $url"

echo "==> starting smrt-supervisor --workers $workers (log: $log)"
"$bin/smrt-supervisor" --db "$SMRT_DB" --workers "$workers" --worker-exec "$bin/smrt-demo-worker" \
    --log-format text 2>"$log" &
supervisor_pid=$!

echo "==> waiting for every job to finish and the schedule to fire (at most 90 s)"
deadline=$((SECONDS + 90))
while :; do
    stats=$("$jobs" stats --json)
    fired=$("$jobs" schedule list --json | python3 -c 'import json,sys; print(sum(s["runCount"] for s in json.load(sys.stdin)))')
    if python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["pending"]+s["running"]==0 else 1)' "$stats" \
        && [ "$fired" -ge 1 ]; then
        break
    fi
    if [ $SECONDS -ge $deadline ]; then echo "    gave up waiting: $stats" >&2; break; fi
    if ! kill -0 "$supervisor_pid" 2>/dev/null; then echo "    smrt-supervisor exited early; log:" >&2; cat "$log" >&2; exit 1; fi
    sleep 0.5
done

echo "==> stopping the supervisor with SIGTERM"
kill -TERM "$supervisor_pid"
wait "$supervisor_pid" && status=0 || status=$?
supervisor_pid=""
echo "    exit status $status"

echo
"$jobs" list --limit 100 --json > "$dir/jobs.json"
"$jobs" schedule list --json > "$dir/schedules.json"
summary=0
if python3 - "$dir/jobs.json" "$dir/schedules.json" "$log" "$echo_id" "$print_id" "$crash_id" "$spin_id" "$fail_id" "$late_id" <<'PY'
import json, sys, re
jobs = {j["id"]: j for j in json.load(open(sys.argv[1]))}
schedules = json.load(open(sys.argv[2]))
log = open(sys.argv[3]).read().splitlines()
echo, prnt, crash, spin, fail, late = map(int, sys.argv[4:10])
# Each job's status when the demo works as designed: the crash, the kill and the failure are meant to fail.
expected = {echo: "completed", prnt: "completed", crash: "failed", spin: "failed", fail: "failed", late: "completed"}
surprises = 0

def line(job_id, what):
    global surprises
    j = jobs[job_id]
    outcome = j["status"]
    as_designed = outcome == expected[job_id]
    surprises += 0 if as_designed else 1
    mark = "ok  " if as_designed else "UNEXPECTED"
    meant = "" if expected[job_id] == "completed" else " (fails on purpose)"
    detail = json.dumps(j.get("result")) if outcome == "completed" else (j.get("lastError") or "")
    print(f"  {mark} #{job_id:<3} {j['objectType']}.{j['method']:<6} {what + meant:<55} "
          f"{outcome} after {j['attempts']} attempt(s): {detail}")

print("What happened (ok = as designed; the crash, the kill and the failure are meant to fail)")
noops = [j for j in jobs.values() if j["method"] == "noop"]
done = sum(1 for j in noops if j["status"] == "completed")
surprises += 0 if done == len(noops) else 1
print(f"  {'ok  ' if done == len(noops) else 'UNEXPECTED'} {done}/{len(noops)} Demo.noop jobs completed beside the crashes and the kill")
line(echo, "returns its args")
line(prnt, "writes to stdout and stderr")
line(crash, "segfaults, 2 attempts allowed")
line(spin, "spins past a 1500 ms kill timeout")
line(fail, "throws an error, 1 attempt")
line(late, "enqueued with a 3 s delay")
for s in schedules:
    fired = [j for j in jobs.values() if j["args"].get("_scheduleId") == s["id"]]
    print(f"  {'ok  ' if s['runCount'] else '... '} schedule #{s['id']} '{s['cron']}' fired {len(fired)} job(s) "
          f"(#{', #'.join(str(j['id']) for j in fired)}); runCount={s['runCount']} successCount={s['successCount']} "
          f"lastStatus={s.get('lastStatus')}")
print("  => every job ended as designed" if surprises == 0 else f"  => {surprises} job(s) did NOT end as designed")

print("\nFrom the supervisor's log")
wanted = re.compile(r"killed|signal|timed out|output|stdout|stderr|exited|spawned|ready|protocol|schedule|stopp")
shown = [l for l in log if wanted.search(l)]
for l in shown[:40]:
    print("  " + l)
if len(shown) > 40:
    print(f"  ... {len(shown) - 40} more lines in the log")
sys.exit(1 if surprises else 0)
PY
then :; else summary=$?; fi

if ! kill -0 "$dashboard_pid" 2>/dev/null; then
    echo; echo "smrt-dashboard exited early; its log:" >&2; cat "$dir/dashboard.log" >&2; exit 1
fi
if [ -t 0 ]; then
    echo
    echo "==> the dashboard stays up; Ctrl-C to stop: $url"
    echo "    (the supervisor is stopped: a job retried there stays pending)"
    # Ctrl-C now ends a demo that has run: its exit status is the summary's.
    trap 'echo; exit "$summary"' INT
    wait "$dashboard_pid" || true
fi
exit "$summary"
