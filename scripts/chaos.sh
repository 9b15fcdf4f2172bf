#!/usr/bin/env bash
# Chaos test: kill workers and the supervisor for real, then prove nothing was lost.
#
#   scripts/chaos.sh [--jobs N] [--seconds S] [--workers W] [--release] [--bin-dir DIR] [--job-ms MS]
#                    [--seed N] [--summary-file PATH] [--keep]
#
# 1. Enqueues N `Demo.append` jobs in one batch (`smrt-jobs enqueue --batch`); job i appends the line "i" to a
#    ledger file, then sleeps --job-ms (default: spread the jobs over the kill window), so a kill can land after
#    the side effect and before the result is recorded. Each job may take 25 attempts (--retries 25), so kills
#    cannot exhaust them; the default exponential back-off (1 s, 2 s, 4 s...) paces a job that is hit again.
# 2. Runs `smrt-supervisor --workers W` and, for S seconds, SIGKILLs a random worker (a child of the supervisor,
#    `pgrep -P`) every 100-300 ms and the supervisor itself every 2-4 s, restarting it at once (it takes back
#    its dead predecessor's jobs at start: same host, pid gone).
# 3. Lets the supervisor finish the rest (deadline), stops it with TERM (exit 0 expected), then checks:
#    every job completed and none failed; every number is in the ledger at least once; duplicate lines are no
#    more than the kills that hit a job in flight (attempts that failed with SIGKILL + jobs taken back from
#    killed supervisors, both counted from the supervisor's JSON log); no job left running;
#    `PRAGMA integrity_check` is ok.
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
SUP=""
cleanup() {
    # Only our own supervisor, by pid; its workers die with it (PR_SET_PDEATHSIG).
    if [[ -n "$SUP" ]] && kill -0 "$SUP" 2>/dev/null; then kill -KILL "$SUP" 2>/dev/null || true; fi
    if [[ "$KEEP" == 1 ]]; then echo "chaos: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

start_supervisor() {
    "$BIN_DIR/smrt-supervisor" --db "$DB" --workers "$WORKERS" --worker-exec "$BIN_DIR/smrt-demo-worker" \
        --log-format json --lease-ttl 2000 --heartbeat-interval 500 --poll-interval 200 \
        --shutdown-timeout 10000 </dev/null >/dev/null 2>>"$LOG" &
    SUP=$!
}

now_ms() { local t="${EPOCHREALTIME/./}"; echo $(( t / 1000 )); }

echo "chaos: seed=$SEED jobs=$JOBS seconds=$KILL_SECONDS workers=$WORKERS job_ms=$JOB_MS dir=$WORK" >&2
awk -v n="$JOBS" -v path="$LEDGER" -v ms="$JOB_MS" 'BEGIN {
    for (i = 0; i < n; i++)
        printf "{\"objectType\":\"Demo\",\"method\":\"append\",\"args\":{\"path\":\"%s\",\"line\":\"%d\",\"afterMs\":%d},\"retries\":25,\"timeout\":\"60s\"}\n", path, i, ms
}' > "$WORK/batch.jsonl"
"$BIN_DIR/smrt-jobs" enqueue --db "$DB" --batch "$WORK/batch.jsonl" >/dev/null

START=$(now_ms)
start_supervisor
WORKER_KILLS=0 SUPERVISOR_KILLS=0
KILL_END=$(( START + KILL_SECONDS * 1000 ))
NEXT_SUPERVISOR_KILL=$(( START + 2000 + RANDOM % 2000 ))
while (( $(now_ms) < KILL_END )); do
    sleep "$(printf '0.%03d' $(( 100 + RANDOM % 200 )))"
    if (( $(now_ms) >= NEXT_SUPERVISOR_KILL )); then
        kill -KILL "$SUP" 2>/dev/null && SUPERVISOR_KILLS=$(( SUPERVISOR_KILLS + 1 ))
        wait "$SUP" 2>/dev/null || true
        start_supervisor
        NEXT_SUPERVISOR_KILL=$(( $(now_ms) + 2000 + RANDOM % 2000 ))
        continue
    fi
    mapfile -t children < <(pgrep -P "$SUP" || true)
    if (( ${#children[@]} > 0 )); then
        victim="${children[RANDOM % ${#children[@]}]}"
        kill -KILL "$victim" 2>/dev/null && WORKER_KILLS=$(( WORKER_KILLS + 1 ))
    fi
done

# Let the supervisor finish what is left: retries wait out their back-off.
DRAIN_DEADLINE=$(( $(now_ms) + 180000 ))
while :; do
    stats="$("$BIN_DIR/smrt-jobs" stats --db "$DB" --json 2>/dev/null || true)"
    if [[ "$stats" == *'"pending":0,"running":0'* ]]; then break; fi
    if ! kill -0 "$SUP" 2>/dev/null; then echo "chaos: the supervisor died on its own; see $LOG" >&2; KEEP=1; exit 1; fi
    if (( $(now_ms) > DRAIN_DEADLINE )); then echo "chaos: jobs still unfinished after 180 s: $stats" >&2; KEEP=1; break; fi
    sleep 0.2
done
kill -TERM "$SUP"
SUPERVISOR_EXIT=0
wait "$SUP" || SUPERVISOR_EXIT=$?
SUP=""
ELAPSED=$(( ($(now_ms) - START) / 1000 ))

set +e
python3 - "$DB" "$LEDGER" "$LOG" "$JOBS" "$WORKER_KILLS" "$SUPERVISOR_KILLS" "$SUPERVISOR_EXIT" "$ELAPSED" "$SUMMARY_FILE" <<'PY'
import collections, json, sqlite3, sys
db, ledger, log, jobs, worker_kills, supervisor_kills, supervisor_exit, elapsed, summary_file = sys.argv[1:]
jobs = int(jobs)
problems = []

connection = sqlite3.connect(db)
counts = dict(connection.execute("SELECT status, COUNT(*) FROM _smrt_jobs GROUP BY status").fetchall())
integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
leases = connection.execute("SELECT COUNT(*) FROM _smrt_workers").fetchone()[0]
connection.close()

lines = collections.Counter()
bad_lines = 0
with open(ledger) as f:
    for line in f:
        line = line.rstrip("\n")
        if line.isdigit() and int(line) < jobs:
            lines[int(line)] += 1
        else:
            bad_lines += 1
unique = len(lines)
duplicates = sum(lines.values()) - unique
missing = jobs - unique

killed_attempts = recovered = 0
with open(log) as f:
    for raw in f:
        try:
            event = json.loads(raw)
        except ValueError:
            continue  # a line cut short by a SIGKILL
        name = event.get("event")
        if name in ("job_retrying", "job_failed") and "(SIGKILL)" in str(event.get("error", "")) \
                and "lease_id" not in event:
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
if missing: problems.append(f"{missing} number(s) missing from the ledger")
if bad_lines: problems.append(f"{bad_lines} malformed ledger line(s)")
if duplicates > in_flight_hits: problems.append(f"{duplicates} duplicates but only {in_flight_hits} in-flight hits")
if integrity != "ok": problems.append(f"integrity_check: {integrity}")
if supervisor_exit != "0": problems.append(f"the last supervisor exited with {supervisor_exit} after TERM")
if leases: problems.append(f"{leases} lease row(s) left")

summary = (f"chaos: jobs={jobs} completed={completed} failed={failed} ledger_unique={unique} "
           f"duplicates={duplicates} worker_kills={worker_kills} supervisor_kills={supervisor_kills} "
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
