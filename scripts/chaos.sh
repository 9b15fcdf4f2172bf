#!/usr/bin/env bash
# Chaos test: kill, freeze and choke supervisors and workers for real, then prove nothing was lost and no job
# ran in two places at once.
#
#   scripts/chaos.sh [--jobs N] [--seconds S] [--workers W] [--release] [--bin-dir DIR] [--job-ms MS]
#                    [--seed N] [--summary-file PATH] [--keep]
#
# 1. Enqueues N `Demo.exclusive` jobs in one batch (`smrt-jobs enqueue --batch`): job i writes "start i PID HOST NS" to a
#    ledger, works --job-ms (default: spread the jobs over the fault window), then writes "end i PID HOST NS", holding an
#    exclusive flock on a lock file of its own meanwhile; an execution that finds the lock taken (another
#    execution of job i is running at that moment) writes "overlap i PID HOST NS" and fails. Each job may take 25
#    attempts (--retries 25), so faults cannot exhaust them; the default exponential back-off paces a job that is
#    hit again.
# 2. Runs two supervisors (`--workers W` each, lease TTL 2 s) on the one database, one of them writing its log
#    through a pipe, and for S seconds, every 100-300 ms, one of these faults:
#    - SIGKILL a random worker (a child of either supervisor);
#    - every 2-4 s, SIGKILL a random supervisor and restart it at once (it takes back its dead predecessor's
#      jobs at start: same host, pid gone);
#    - every 3-6 s, SIGSTOP a random supervisor for 2.5-3.5 s (past its lease) and SIGCONT it: its workers must
#      stop themselves and it must fence itself, while the other one takes its jobs over;
#    - every 3-6 s, stop the reader of the piped log for 2 s (a blocked log pipe).
# 3. Lets the supervisors finish the rest (deadline), stops them with TERM (exit 0 expected), then checks:
#    every job completed and none failed; every job has an "end" in the ledger; no "overlap" line at all;
#    extra executions are no more than the faults that hit a job in flight (attempts that failed with SIGKILL,
#    jobs taken back from dead or frozen supervisors, and attempts stopped by a lost lease, all counted from the
#    supervisors' JSON logs); no job left running; `PRAGMA integrity_check` is ok.
# Prints one summary line; exits 0 when every check passes, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=1000 KILL_SECONDS=15 WORKERS=4 BIN_DIR="" CONFIG=debug JOB_MS="" SEED="" SUMMARY_FILE="" KEEP=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jobs) JOBS="$2"; shift 2 ;;
        --seconds) KILL_SECONDS="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        --bin-dir) BIN_DIR="$2"; shift 2 ;;
        --release) CONFIG=release; shift ;;
        --job-ms) JOB_MS="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        --summary-file) SUMMARY_FILE="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "chaos.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ "$JOBS" =~ ^[0-9]+$ && "$JOBS" -gt 0 ]] || { echo "chaos.sh: --jobs must be a positive integer" >&2; exit 2; }
[[ "$KILL_SECONDS" =~ ^[0-9]+$ ]] || { echo "chaos.sh: --seconds must be a whole number" >&2; exit 2; }
SEED="${SEED:-$$}"
RANDOM=$SEED
command -v python3 >/dev/null || { echo "chaos.sh: python3 is needed for the checks" >&2; exit 2; }

if [[ -z "$BIN_DIR" ]]; then
    source scripts/ensure-deps.sh
    swift build -c "$CONFIG" >&2
    BIN_DIR="$(swift build -c "$CONFIG" --show-bin-path)"
fi
for tool in smrt-supervisor smrt-jobs smrt-demo-worker; do
    [[ -x "$BIN_DIR/$tool" ]] || { echo "chaos.sh: $BIN_DIR/$tool not found" >&2; exit 2; }
done
if [[ -z "$JOB_MS" ]]; then
    # Spread the work over the kill window: W workers busy for about 90% of S seconds.
    JOB_MS=$(( KILL_SECONDS * 1000 * WORKERS * 9 / (JOBS * 10) ))
    (( JOB_MS > 200 )) && JOB_MS=200
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smrt-chaos.XXXXXX")"
DB="$WORK/jobs.sqlite" LEDGER="$WORK/ledger.txt" LOG="$WORK/supervisor.log"
SUPS=("" "") STARTED=(0 0) PIPE_READER=""
cleanup() {
    # Only our own supervisors, by pid; their workers die with them (PR_SET_PDEATHSIG).
    for pid in "${SUPS[@]}" "$PIPE_READER"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null || true; fi
    done
    if [[ "$KEEP" == 1 ]]; then echo "chaos: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Supervisor 0 logs through a pipe whose reader the chaos stops now and then; supervisor 1 appends to the log.
start_supervisor() {
    local slot=$1
    local args=(--db "$DB" --workers "$WORKERS" --worker-exec "$BIN_DIR/smrt-demo-worker" --log-format json
        --lease-ttl 2000 --heartbeat-interval 500 --poll-interval 200 --shutdown-timeout 10000)
    if (( slot == 0 )); then
        if [[ -z "$PIPE_READER" ]] || ! kill -0 "$PIPE_READER" 2>/dev/null; then
            rm -f "$WORK/log.fifo"; mkfifo "$WORK/log.fifo"
            cat "$WORK/log.fifo" >> "$LOG" &
            PIPE_READER=$!
        fi
        "$BIN_DIR/smrt-supervisor" "${args[@]}" </dev/null >/dev/null 2>"$WORK/log.fifo" &
    else
        "$BIN_DIR/smrt-supervisor" "${args[@]}" </dev/null >/dev/null 2>>"$LOG" &
    fi
    SUPS[$slot]=$!
    STARTED[$slot]=$(now_ms)
}

now_ms() { local t="${EPOCHREALTIME/./}"; echo $(( t / 1000 )); }

echo "chaos: seed=$SEED jobs=$JOBS seconds=$KILL_SECONDS workers=$WORKERS job_ms=$JOB_MS dir=$WORK" >&2
awk -v n="$JOBS" -v path="$LEDGER" -v ms="$JOB_MS" 'BEGIN {
    for (i = 0; i < n; i++)
        printf "{\"objectType\":\"Demo\",\"method\":\"exclusive\",\"args\":{\"ledger\":\"%s\",\"line\":\"%d\",\"ms\":%d},\"retries\":25,\"timeout\":\"60s\"}\n", path, i, ms
}' > "$WORK/batch.jsonl"
"$BIN_DIR/smrt-jobs" enqueue --db "$DB" --batch "$WORK/batch.jsonl" >/dev/null

START=$(now_ms)
start_supervisor 0
start_supervisor 1
WORKER_KILLS=0 SUPERVISOR_KILLS=0 SUPERVISOR_STOPS=0 PIPE_STOPS=0
KILL_END=$(( START + KILL_SECONDS * 1000 ))
NEXT_SUPERVISOR_KILL=$(( START + 2000 + RANDOM % 2000 ))
NEXT_SUPERVISOR_STOP=$(( START + 3000 + RANDOM % 3000 ))
NEXT_PIPE_STOP=$(( START + 3000 + RANDOM % 3000 ))
STOPPED="" STOPPED_UNTIL=0 PIPE_STOPPED_UNTIL=0
while (( $(now_ms) < KILL_END )); do
    sleep "$(printf '0.%03d' $(( 100 + RANDOM % 200 )))"
    now=$(now_ms)
    if [[ -n "$STOPPED" ]] && (( now >= STOPPED_UNTIL )); then
        kill -CONT "$STOPPED" 2>/dev/null || true
        STOPPED=""
    fi
    if (( PIPE_STOPPED_UNTIL > 0 && now >= PIPE_STOPPED_UNTIL )); then
        kill -CONT "$PIPE_READER" 2>/dev/null || true
        PIPE_STOPPED_UNTIL=0
    fi
    if (( now >= NEXT_SUPERVISOR_KILL )) && [[ -z "$STOPPED" ]]; then
        slot=$(( RANDOM % 2 ))
        kill -KILL "${SUPS[$slot]}" 2>/dev/null && SUPERVISOR_KILLS=$(( SUPERVISOR_KILLS + 1 ))
        wait "${SUPS[$slot]}" 2>/dev/null || true
        start_supervisor "$slot"
        NEXT_SUPERVISOR_KILL=$(( $(now_ms) + 2000 + RANDOM % 2000 ))
        continue
    fi
    if (( now >= NEXT_SUPERVISOR_STOP )) && [[ -z "$STOPPED" ]]; then
        STOPPED="${SUPS[$(( RANDOM % 2 ))]}"
        kill -STOP "$STOPPED" 2>/dev/null && SUPERVISOR_STOPS=$(( SUPERVISOR_STOPS + 1 ))
        STOPPED_UNTIL=$(( now + 2500 + RANDOM % 1000 ))
        NEXT_SUPERVISOR_STOP=$(( STOPPED_UNTIL + 3000 + RANDOM % 3000 ))
        continue
    fi
    if (( now >= NEXT_PIPE_STOP && PIPE_STOPPED_UNTIL == 0 )); then
        kill -STOP "$PIPE_READER" 2>/dev/null && PIPE_STOPS=$(( PIPE_STOPS + 1 ))
        PIPE_STOPPED_UNTIL=$(( now + 2000 ))
        NEXT_PIPE_STOP=$(( PIPE_STOPPED_UNTIL + 3000 + RANDOM % 3000 ))
        continue
    fi
    mapfile -t children < <(pgrep -P "${SUPS[0]}"; pgrep -P "${SUPS[1]}" || true)
    if (( ${#children[@]} > 0 )); then
        victim="${children[RANDOM % ${#children[@]}]}"
        kill -KILL "$victim" 2>/dev/null && WORKER_KILLS=$(( WORKER_KILLS + 1 ))
    fi
done
[[ -n "$STOPPED" ]] && kill -CONT "$STOPPED" 2>/dev/null
kill -CONT "$PIPE_READER" 2>/dev/null || true

# Let the supervisors finish what is left: retries wait out their back-off.
DRAIN_DEADLINE=$(( $(now_ms) + 180000 ))
while :; do
    stats="$("$BIN_DIR/smrt-jobs" stats --db "$DB" --json 2>/dev/null || true)"
    if [[ "$stats" == *'"pending":0,"running":0'* ]]; then break; fi
    for pid in "${SUPS[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then echo "chaos: supervisor $pid died on its own; see $LOG" >&2; KEEP=1; exit 1; fi
    done
    if (( $(now_ms) > DRAIN_DEADLINE )); then echo "chaos: jobs still unfinished after 180 s: $stats" >&2; KEEP=1; break; fi
    sleep 0.2
done
# A supervisor restarted a moment ago may still be starting: TERM before its handlers are installed would be
# the default action (death, 143), not the graceful stop this run checks. Give each one a second.
for slot in 0 1; do
    while (( $(now_ms) < STARTED[slot] + 1000 )); do sleep 0.05; done
done
SUPERVISOR_EXIT=0
for pid in "${SUPS[@]}"; do kill -TERM "$pid"; done
for pid in "${SUPS[@]}"; do
    status=0
    wait "$pid" || status=$?
    (( status != 0 )) && SUPERVISOR_EXIT=$status
done
SUPS=("" "")
# The pipe's reader ends with the last writer; wait for it so the log is complete.
wait "$PIPE_READER" 2>/dev/null || true
ELAPSED=$(( ($(now_ms) - START) / 1000 ))

set +e
python3 - "$DB" "$LEDGER" "$LOG" "$JOBS" "$WORKER_KILLS" "$SUPERVISOR_KILLS" "$SUPERVISOR_STOPS" "$PIPE_STOPS" \
    "$SUPERVISOR_EXIT" "$ELAPSED" "$SUMMARY_FILE" <<'PY'
import collections, json, sqlite3, sys
(db, ledger, log, jobs, worker_kills, supervisor_kills, supervisor_stops, pipe_stops, supervisor_exit, elapsed,
 summary_file) = sys.argv[1:]
jobs = int(jobs)
problems = []

connection = sqlite3.connect(db)
counts = dict(connection.execute("SELECT status, COUNT(*) FROM _smrt_jobs GROUP BY status").fetchall())
integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
leases = connection.execute("SELECT COUNT(*) FROM _smrt_workers").fetchone()[0]
connection.close()

ends = collections.Counter()
overlaps = []
bad_lines = 0
with open(ledger) as f:
    for line in f:
        parts = line.split()
        if len(parts) != 5 or not parts[1].isdigit() or int(parts[1]) >= jobs:
            bad_lines += 1
        elif parts[0] == "end":
            ends[int(parts[1])] += 1
        elif parts[0] == "overlap":
            overlaps.append(int(parts[1]))
        elif parts[0] != "start":
            bad_lines += 1
unique = len(ends)
duplicates = sum(ends.values()) - unique
missing = jobs - unique

killed_attempts = recovered = 0
with open(log) as f:
    for raw in f:
        try:
            event = json.loads(raw)
        except ValueError:
            continue  # a line cut short by a SIGKILL
        name = event.get("event")
        error = str(event.get("error", ""))
        if name in ("job_retrying", "job_failed") and "lease_id" not in event \
                and ("(SIGKILL)" in error or "could not be renewed" in error or "exited with code 75" in error):
            killed_attempts += 1
        elif name == "lease_recovered":
            recovered += int(event.get("jobs", 0))
in_flight_hits = killed_attempts + recovered

completed = counts.get("completed", 0)
failed = counts.get("failed", 0)
stuck = counts.get("running", 0)
if completed != jobs: problems.append(f"{jobs - completed} job(s) not completed: {counts}")
if failed: problems.append(f"{failed} job(s) failed")
if stuck: problems.append(f"{stuck} job(s) stuck running")
if missing: problems.append(f"{missing} job(s) without an end in the ledger")
if overlaps: problems.append(f"{len(overlaps)} overlapping execution(s), jobs {sorted(set(overlaps))[:20]}")
if bad_lines: problems.append(f"{bad_lines} malformed ledger line(s)")
if duplicates > in_flight_hits: problems.append(f"{duplicates} duplicates but only {in_flight_hits} in-flight hits")
if integrity != "ok": problems.append(f"integrity_check: {integrity}")
if supervisor_exit != "0": problems.append(f"the last supervisor exited with {supervisor_exit} after TERM")
if leases: problems.append(f"{leases} lease row(s) left")

summary = (f"chaos: jobs={jobs} completed={completed} failed={failed} ledger_unique={unique} "
           f"duplicates={duplicates} overlaps={len(overlaps)} worker_kills={worker_kills} "
           f"supervisor_kills={supervisor_kills} supervisor_stops={supervisor_stops} pipe_stops={pipe_stops} "
           f"in_flight_hits={in_flight_hits} stuck_running={stuck} integrity={integrity} elapsed={elapsed}s")
if problems:
    summary += " FAILED: " + "; ".join(problems)
print(summary)
if summary_file:
    with open(summary_file, "w") as f:
        f.write(summary + "\n")
sys.exit(1 if problems else 0)
PY
STATUS=$?
(( STATUS != 0 )) && KEEP=1
exit $STATUS
