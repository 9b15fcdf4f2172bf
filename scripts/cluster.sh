#!/usr/bin/env bash
# Hosts for real: several supervisors, each in a network namespace of its own (its own link to the database
# server, its own hostname), on one PostgreSQL queue; then proof that every job ran, none was lost, and no two
# executions of one job overlapped in time. Needs root (ip netns, unshare) and PostgreSQL.
#
#   scripts/cluster.sh [--jobs N] [--hosts H] [--workers W] [--job-ms MS] [--partition] [--partition-seconds S]
#                      [--lease-ttl MS] [--release] [--bin-dir DIR] [--deadline S] [--keep]
#
# 1. Starts a private PostgreSQL server (scripts/pg-server.sh) listening on every address, and H hosts: network
#    namespaces smrt-hI joined to the server's namespace by a veth pair (10.77.I.2 <-> 10.77.I.1), each with its
#    own hostname (unshare --uts).
# 2. Enqueues N (default 20,000) `Demo.exclusive` jobs: each execution writes "start", then "end", with the job,
#    pid, host and wall time to a ledger, holding an exclusive flock on a lock file of its job meanwhile (an
#    execution that finds it taken writes "overlap" and fails).
# 3. Runs `smrt-supervisor --workers W` on each host against the server's address on its link.
#    --partition: also enqueues, at high priority, two long jobs per host (three lease TTLs each), and once host 2
#    runs one of them, takes host 2's link down for S seconds (default: twice the lease TTL), then brings it
#    back. Host 2 must fence itself (kill its busy workers) before its lease expires; the others take its jobs
#    over, the long one included; when its link is back it reconnects and runs jobs again.
# 4. Waits for every job to complete, stops the supervisors with TERM (exit 0 expected), and checks: every job
#    completed, every job has an "end", no "overlap" line, and the executions of each job do not overlap in
#    time. Prints per-host counts and one summary line; exits 0 when every check passes, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=20000 HOSTS=3 WORKERS=2 JOB_MS=1 PARTITION=0 PARTITION_SECONDS="" LEASE_TTL=6000 CONFIG=debug BIN_DIR=""
DEADLINE=600 KEEP=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jobs) JOBS="$2"; shift 2 ;;
        --hosts) HOSTS="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        --job-ms) JOB_MS="$2"; shift 2 ;;
        --partition) PARTITION=1; shift ;;
        --partition-seconds) PARTITION_SECONDS="$2"; shift 2 ;;
        --lease-ttl) LEASE_TTL="$2"; shift 2 ;;
        --release) CONFIG=release; shift ;;
        --bin-dir) BIN_DIR="$2"; shift 2 ;;
        --deadline) DEADLINE="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "cluster.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for value in "$JOBS" "$HOSTS" "$WORKERS" "$JOB_MS" "$LEASE_TTL" "$DEADLINE"; do
    [[ "$value" =~ ^[0-9]+$ ]] || { echo "cluster.sh: '$value' is not a whole number" >&2; exit 2; }
done
(( HOSTS >= 2 && HOSTS <= 9 )) || { echo "cluster.sh: --hosts must be 2 to 9" >&2; exit 2; }
PARTITION_SECONDS="${PARTITION_SECONDS:-$(( LEASE_TTL * 2 / 1000 ))}"
[[ "$(id -u)" -eq 0 ]] || { echo "cluster.sh: needs root (network namespaces)" >&2; exit 2; }
command -v ip >/dev/null && command -v unshare >/dev/null || { echo "cluster.sh: needs ip (iproute2) and unshare" >&2; exit 2; }

if [[ -z "$BIN_DIR" ]]; then
    SMRT_DEPS_FOR_TESTS=1 source scripts/ensure-deps.sh
    swift build -c "$CONFIG" >&2
    BIN_DIR="$(swift build -c "$CONFIG" --show-bin-path)"
fi
for tool in smrt-supervisor smrt-jobs smrt-demo-worker; do
    [[ -x "$BIN_DIR/$tool" ]] || { echo "cluster.sh: $BIN_DIR/$tool not found" >&2; exit 2; }
done

# One cluster at a time on this machine: the namespaces and addresses have fixed names.
exec 9>/tmp/smrt-cluster.lock
flock 9

WORK="$(mktemp -d /tmp/smrt-cluster.XXXXXX)"
chmod 755 "$WORK"
LEDGER="$WORK/ledger.txt"
SUPS=()
cleanup() {
    local status=$?
    for pid in "${SUPS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if [[ "$status" -ne 0 ]]; then
        # A failed run may be on a machine nobody can log into (CI): say here what happened to leases and workers.
        echo "cluster: what the hosts logged about leases and unexpected worker exits:" >&2
        grep -H -E '"event":"(lease_[a-z_]+|worker_exited|job_recovered)"' "$WORK"/h*.log 2>/dev/null \
            | grep -v '"expected":true' | cut -c1-500 >&2 || true
        echo "cluster: ledger lines of the long jobs and of every overlap (what job pid host ns):" >&2
        awk -v n="$JOBS" '$2 >= n || $1 == "overlap"' "$LEDGER" 2>/dev/null >&2 || true
    fi
    for ((i = 1; i <= HOSTS; i++)); do
        ip netns del "smrt-h$i" 2>/dev/null || true
        ip link del "smrt-h$i-a" 2>/dev/null || true
    done
    bash scripts/pg-server.sh stop "$WORK/pg" || true
    if [[ "$KEEP" == 1 ]]; then echo "cluster: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

now_ms() { local t="${EPOCHREALTIME/./}"; echo $(( t / 1000 )); }

# Leftovers of a run that was killed before its cleanup.
for ((i = 1; i <= HOSTS; i++)); do
    ip netns del "smrt-h$i" 2>/dev/null || true
    ip link del "smrt-h$i-a" 2>/dev/null || true
done

LOCAL_URL="$(SMRT_PG_LISTEN='*' SMRT_PG_TRUST_NET=10.77.0.0/16 bash scripts/pg-server.sh start "$WORK/pg")"
PORT="${LOCAL_URL##*:}"; PORT="${PORT%%/*}"
for ((i = 1; i <= HOSTS; i++)); do
    ip netns add "smrt-h$i"
    ip link add "smrt-h$i-a" type veth peer name "smrt-h$i-b"
    ip link set "smrt-h$i-b" netns "smrt-h$i"
    ip addr add "10.77.$i.1/24" dev "smrt-h$i-a"
    ip link set "smrt-h$i-a" up
    ip netns exec "smrt-h$i" ip addr add "10.77.$i.2/24" dev "smrt-h$i-b"
    ip netns exec "smrt-h$i" ip link set "smrt-h$i-b" up
    ip netns exec "smrt-h$i" ip link set lo up
done

echo "cluster: jobs=$JOBS hosts=$HOSTS workers=$WORKERS job_ms=$JOB_MS partition=$PARTITION lease_ttl=$LEASE_TTL dir=$WORK" >&2
awk -v n="$JOBS" -v path="$LEDGER" -v ms="$JOB_MS" 'BEGIN {
    for (i = 0; i < n; i++)
        printf "{\"objectType\":\"Demo\",\"method\":\"exclusive\",\"args\":{\"ledger\":\"%s\",\"line\":\"%d\",\"ms\":%d},\"retries\":10,\"timeout\":\"60s\"}\n", path, i, ms
}' > "$WORK/batch.jsonl"
if [[ "$PARTITION" == 1 ]]; then
    awk -v n="$HOSTS" -v path="$LEDGER" -v ms="$(( LEASE_TTL * 3 ))" -v first="$JOBS" 'BEGIN {
        for (i = 0; i < 2 * n; i++)
            printf "{\"objectType\":\"Demo\",\"method\":\"exclusive\",\"args\":{\"ledger\":\"%s\",\"line\":\"%d\",\"ms\":%d},\"retries\":10,\"timeout\":\"120s\",\"priority\":\"high\"}\n", path, first + i, ms
    }' >> "$WORK/batch.jsonl"
    JOBS=$(( JOBS + 2 * HOSTS ))
fi
"$BIN_DIR/smrt-jobs" enqueue --db "$LOCAL_URL" --batch "$WORK/batch.jsonl" >/dev/null
chmod 666 "$LEDGER" 2>/dev/null || true

START=$(now_ms)
for ((i = 1; i <= HOSTS; i++)); do
    url="postgresql://postgres@10.77.$i.1:$PORT/postgres"
    ip netns exec "smrt-h$i" unshare --uts /bin/sh -c 'hostname "$0" && exec "$@"' "h$i" \
        "$BIN_DIR/smrt-supervisor" --db "$url" --workers "$WORKERS" --worker-exec "$BIN_DIR/smrt-demo-worker" \
        --log-format json --lease-ttl "$LEASE_TTL" --poll-interval 1000 --shutdown-timeout 10000 \
        </dev/null >/dev/null 2>"$WORK/h$i.log" &
    SUPS+=($!)
done

completed() { "$BIN_DIR/smrt-jobs" stats --db "$LOCAL_URL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["completed"])'; }

PARTITION_AT="" HEALED_AT=""
if [[ "$PARTITION" == 1 ]]; then
    # Host 2 runs a long job: its lease id (the jobs' worker id) starts with its hostname.
    until "$BIN_DIR/smrt-jobs" list --db "$LOCAL_URL" --status running --limit 1000 --json | python3 -c '
import json, sys
sys.exit(0 if any((j.get("workerId") or "").startswith("h2:") and j["args"].get("ms", 0) > 1000 for j in json.load(sys.stdin)) else 1)'; do
        (( $(now_ms) - START < DEADLINE * 1000 )) || { echo "cluster: deadline before the partition" >&2; exit 1; }
        sleep 0.1
    done
    PARTITION_AT=$(now_ms)
    ip link set smrt-h2-a down
    echo "cluster: host 2's link down for ${PARTITION_SECONDS} s" >&2
    sleep "$PARTITION_SECONDS"
    ip link set smrt-h2-a up
    HEALED_AT=$(now_ms)
    echo "cluster: host 2's link up again" >&2
fi

while (( $(completed) < JOBS )); do
    if (( $(now_ms) - START > DEADLINE * 1000 )); then
        echo "cluster: deadline: $(completed) of $JOBS jobs completed" >&2
        break
    fi
    sleep 0.5
done
ELAPSED_MS=$(( $(now_ms) - START ))

EXITS=()
for pid in "${SUPS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    status=0
    wait "$pid" || status=$?
    EXITS+=("$status")
done
SUPS=()
"$BIN_DIR/smrt-jobs" stats --db "$LOCAL_URL" --json > "$WORK/stats.json"

python3 - "$LEDGER" "$WORK" "$HOSTS" "$JOBS" "$ELAPSED_MS" "${PARTITION_AT:-0}" "${HEALED_AT:-0}" "${EXITS[*]}" <<'PY'
import collections, json, sys
ledger, work, hosts, jobs, elapsed_ms, partition_at, healed_at, exits = sys.argv[1:9]
hosts, jobs, elapsed_ms = int(hosts), int(jobs), int(elapsed_ms)
stats = json.load(open(f"{work}/stats.json"))
executions = collections.defaultdict(list)   # job -> [(start_ns, end_ns or None, host, pid)]
open_runs = {}
overlaps, per_host = [], collections.Counter()
for line in open(ledger):
    what, job, pid, host, ns = line.split()
    job, ns = int(job), int(ns)
    if what == "start":
        open_runs[(job, pid)] = (ns, host)
    elif what == "end":
        start, start_host = open_runs.pop((job, pid))
        executions[job].append((start, ns, host, pid))
        per_host[host] += 1
    elif what == "overlap":
        overlaps.append(job)
for (job, pid), (start, host) in open_runs.items():   # killed before its end
    executions[job].append((start, None, host, pid))
problems = []
if stats["completed"] != jobs: problems.append(f"{stats['completed']} of {jobs} jobs completed: {stats}")
missing = [j for j in range(jobs) if not any(e[1] is not None for e in executions.get(j, []))]
if missing: problems.append(f"{len(missing)} job(s) without an end, e.g. {missing[:10]}")
if overlaps: problems.append(f"{len(overlaps)} overlapping execution(s) (lock held by another), jobs {sorted(set(overlaps))[:10]}")
timed_overlaps = []
for job, runs in executions.items():
    runs.sort()
    for a, b in zip(runs, runs[1:]):
        # A run killed before its end has no end time: its lock (above) is the proof; a finished one must end first.
        if a[1] is not None and a[1] > b[0]: timed_overlaps.append(job)
if timed_overlaps: problems.append(f"{len(timed_overlaps)} job(s) whose executions overlap in time, e.g. {timed_overlaps[:10]}")
extra = sum(len(r) for r in executions.values()) - jobs
codes = exits.split()
if any(c != "0" for c in codes): problems.append(f"supervisor exit codes {codes} (0 expected)")
events = collections.Counter()
killed_on_h2 = 0
for i in range(1, hosts + 1):
    for raw in open(f"{work}/h{i}.log", errors="replace"):
        try: e = json.loads(raw)
        except ValueError: continue
        if e.get("event") in ("lease_lost", "lease_regained", "lease_recovered", "database_failed"):
            events[(f"h{i}", e["event"])] += 1
        # Host 2's long jobs stop either way: killed when it fences itself, or by their workers' watchdog first.
        if i == 2 and e.get("event") == "lease_lost": killed_on_h2 += e.get("running_jobs", 0)
        if i == 2 and e.get("event") == "worker_exited" and e.get("job_id") is not None \
                and e.get("status") == "exited with code 75": killed_on_h2 += 1
if int(partition_at):
    if events[("h2", "lease_lost")] == 0: problems.append("host 2 never fenced itself during the partition")
    if killed_on_h2 == 0: problems.append("host 2 stopped no running job during the partition")
    if sum(events[(f"h{i}", "lease_recovered")] for i in range(1, hosts + 1) if i != 2) == 0:
        problems.append("no other host took host 2's lease over")
    if per_host.get("h2", 0) == 0: problems.append("host 2 ran nothing")
print("cluster: per host: " + ", ".join(f"{h}={per_host[h]}" for h in sorted(per_host)), file=sys.stderr)
print("cluster: lease events: " + ", ".join(f"{h} {e}={n}" for (h, e), n in sorted(events.items()))
      + (f"; host 2 stopped {killed_on_h2} running job(s) (fence or watchdog)" if int(partition_at) else ""), file=sys.stderr)
rate = jobs / (elapsed_ms / 1000) if elapsed_ms else 0
summary = (f"cluster: {'OK' if not problems else 'FAILED'} jobs={jobs} completed={stats['completed']} "
           f"executions={jobs + extra} extra={extra} overlaps={len(overlaps) + len(timed_overlaps)} "
           f"elapsed={elapsed_ms / 1000:.1f}s rate={rate:.0f}/s partition={'yes' if int(partition_at) else 'no'}")
print(summary)
for p in problems: print("cluster: PROBLEM: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
