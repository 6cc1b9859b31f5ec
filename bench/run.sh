#!/usr/bin/env bash
# The benchmark, in one go on this machine: a throwaway PostgreSQL cluster, the server built in Release,
# the load generator at several client counts on PostgreSQL and on SQLite, pgbench running a transaction
# of the same shape as one transition at the same client counts, throughput with 10,000 versus 1,000,000
# stored task runs, and the race tests at full length. Prints a table; the raw results stay in $WORK.
#
# Then the drain benchmark (DRAIN_TASKS tasks of DRAIN_SECONDS each through a concurrency limit of
# DRAIN_LIMIT, clients sleeping each WAIT's delay as the 2.7 client does), once with 2.7.0's fixed 30 s
# wait and once with the adaptive one, and the fuzz test at FUZZ_CASES requests per database.
#
# Settings (environment): CLIENTS="4 16 64" DURATION=20 WARMUP=10 SERVER_WARMUP=60 SCALE=1 SEED_EXTRA=990000 RACES=1
# SOAK_SECONDS=0 DRAIN=1 DRAIN_TASKS=60 DRAIN_SECONDS=5 DRAIN_LIMIT=10 FUZZ_CASES=50000
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTS="${CLIENTS:-4 16 64}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-10}"
SCALE="${SCALE:-1}"
RACES="${RACES:-1}"
SOAK_SECONDS="${SOAK_SECONDS:-0}"
SEED_EXTRA="${SEED_EXTRA:-990000}"
SERVER_WARMUP="${SERVER_WARMUP:-60}"
DRAIN="${DRAIN:-1}"
DRAIN_TASKS="${DRAIN_TASKS:-60}"
DRAIN_SECONDS="${DRAIN_SECONDS:-5}"
DRAIN_LIMIT="${DRAIN_LIMIT:-10}"
FUZZ_CASES="${FUZZ_CASES:-50000}"
WORK="$(mktemp -d /tmp/orchestrator-bench.XXXXXX)"
chmod 777 "$WORK"
SERVER_PID=""
CHILD_PID=""
PG_UP=""

log() { printf '\n== %s\n' "$*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL binaries: the newest installed, installed from Debian if there are none.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
    log "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG="$(pg_bin)"
# PostgreSQL refuses to run as root: run it as the postgres user then.
AS_PG=()
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); fi

# Whatever ends the script (it finishing, Ctrl-C, a kill), the load generator, the server and the cluster
# it started end with it. Long steps run as background children waited for, so a signal is handled at
# once instead of after the step.
cleanup() {
    if [ -n "$CHILD_PID" ]; then kill "$CHILD_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$PG_UP" ]; then "${AS_PG[@]}" "$PG/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Runs a command as a child that cleanup can stop; its output and exit status are the command's.
run_child() { local status=0; "$@" & CHILD_PID=$!; wait "$CHILD_PID" || status=$?; CHILD_PID=""; return "$status"; }

log "building the server and the load generator (Release)"
dotnet build "$ROOT/src/Orchestrator" -c Release -v quiet -nologo >/dev/null
dotnet build "$ROOT/tools/Orchestrator.LoadGenerator" -c Release -v quiet -nologo >/dev/null
SERVER_DLL="$ROOT/src/Orchestrator/bin/Release/net10.0/Orchestrator.dll"
LOADGEN_DLL="$ROOT/tools/Orchestrator.LoadGenerator/bin/Release/net10.0/Orchestrator.LoadGenerator.dll"

log "starting a throwaway PostgreSQL cluster in $WORK/pg"
PG_PORT="$(free_port)"
mkdir -p "$WORK/pg" && chmod 700 "$WORK/pg"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/pg"; fi
"${AS_PG[@]}" "$PG/initdb" -D "$WORK/pg" -U postgres --auth=trust >/dev/null
"${AS_PG[@]}" "$PG/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start \
    -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB" >/dev/null
PG_UP=1
psql_() { "$PG/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_ -c "CREATE DATABASE orchestrator" -c "CREATE DATABASE transition_shape"
psql_ -d transition_shape -f "$ROOT/bench/pgbench-schema.sql" >/dev/null
PG_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Database=orchestrator;Username=postgres;Maximum Pool Size=100"

start_server() { # provider connection-string [NAME=VALUE settings...]
    local port; port="$(free_port)"
    SERVER_URL="http://127.0.0.1:$port"
    (cd "$(dirname "$SERVER_DLL")" && exec env Database__Provider="$1" ConnectionStrings__Orchestrator="$2" "${@:3}" \
        dotnet "$SERVER_DLL" --urls "$SERVER_URL" >>"$WORK/server-$1.log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        if curl -fs "$SERVER_URL/api/health" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    echo "the server did not start; see $WORK/server-$1.log" >&2
    exit 1
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
# Under load on two cores, a fresh server's tiered JIT keeps recompiling hot paths for 30-45 s (seen with
# perf: a fifth of its CPU went to the JIT thread); a long-running server is past that, so measure it warm.
warm_up() { load "warm-up-$1" 16 "$SERVER_WARMUP" >/dev/null; }
load() { # label clients [duration]
    run_child dotnet "$LOADGEN_DLL" --url "$SERVER_URL" --clients "$2" --duration "${3:-$DURATION}" --warmup "$WARMUP" \
        --server-pid "$SERVER_PID" --label "$1" --json "$WORK/$1.json"
}

log "Orchestrator on PostgreSQL"
start_server Postgres "$PG_CONNECTION"
warm_up postgres
for c in $CLIENTS; do load "postgres-$c" "$c"; done

log "pgbench, one transition's shape ($PG/pgbench)"
for c in $CLIENTS; do
    run_child "$PG/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -c "$c" -j 2 -T "$DURATION" \
        -f "$ROOT/bench/pgbench-transition.sql" transition_shape >"$WORK/pgbench-$c.txt" 2>&1
    grep -E "^tps" "$WORK/pgbench-$c.txt" | sed "s/^/  $c clients: /"
done

if [ "$SCALE" = 1 ]; then
    log "stored data: 10,000 versus 1,000,000 task runs (16 clients)"
    stop_server
    psql_ -c "DROP DATABASE orchestrator" -c "CREATE DATABASE orchestrator"
    start_server Postgres "$PG_CONNECTION"
    flow="$(curl -fs -X POST "$SERVER_URL/api/flows/" -H 'content-type: application/json' -d '{"name": "seed"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
    curl -fs -X POST "$SERVER_URL/api/flow_runs/" -H 'content-type: application/json' -d "{\"flow_id\": \"$flow\", \"name\": \"seed\"}" >/dev/null
    psql_ -d orchestrator -v n=10000 -v batch=a -f "$ROOT/bench/seed-task-runs.sql"
    psql_ -d orchestrator -c "VACUUM ANALYZE task_run" -c "VACUUM ANALYZE task_run_state" -c "CHECKPOINT"
    warm_up stored
    load "stored-10k" 16
    psql_ -d orchestrator -v n="$SEED_EXTRA" -v batch=b -f "$ROOT/bench/seed-task-runs.sql"
    # Let the database finish the seeding's aftermath (dirty pages, vacuum) before measuring.
    psql_ -d orchestrator -c "VACUUM ANALYZE task_run" -c "VACUUM ANALYZE task_run_state" -c "CHECKPOINT"
    load "stored-1m" 16
fi

if [ "$SOAK_SECONDS" -gt 0 ]; then
    log "soak: 16 clients for $SOAK_SECONDS s on PostgreSQL"
    load "soak" 16 "$SOAK_SECONDS"
fi

if [ "$DRAIN" = 1 ]; then
    log "drain: $DRAIN_TASKS tasks of $DRAIN_SECONDS s through a limit of $DRAIN_LIMIT (PostgreSQL)"
    stop_server
    for mode in Fixed Adaptive; do
        start_server Postgres "$PG_CONNECTION" Orchestration__ConcurrencyLimitWait="$mode"
        # Warm, as the other measurements: a cold server's first requests would count against the drain.
        load "warm-up-drain-$mode" 16 10 >/dev/null
        run_child dotnet "$LOADGEN_DLL" --url "$SERVER_URL" --clients "$DRAIN_TASKS" --drain "$DRAIN_TASKS" \
            --task-seconds "$DRAIN_SECONDS" --limit "$DRAIN_LIMIT" --label "drain-$mode" --json "$WORK/drain-$mode.json"
        stop_server
    done
else
    stop_server
fi

log "Orchestrator on SQLite"
mkdir -p "$WORK/sqlite"
start_server Sqlite "Data Source=$WORK/sqlite/orchestrator.db"
warm_up sqlite
for c in $CLIENTS; do load "sqlite-$c" "$c"; done
stop_server
LOCKED="$(grep -c "database is locked" "$WORK/server-Sqlite.log" || true)"

if [ "$RACES" = 1 ]; then
    log "race tests at full length (20 rounds)"
    ORCHESTRATOR_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" ORCHESTRATOR_RACE_ROUNDS=20 \
        dotnet test "$ROOT/tests/Orchestrator.Tests" --filter "FullyQualifiedName~RaceTests|FullyQualifiedName~CrashTests" -v quiet -nologo \
        | grep -E "Passed!|Failed!|error" || true
fi

if [ "$FUZZ_CASES" -gt 0 ]; then
    log "fuzz test: $FUZZ_CASES malformed requests per database"
    ORCHESTRATOR_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" ORCHESTRATOR_FUZZ_CASES="$FUZZ_CASES" \
        dotnet test "$ROOT/tests/Orchestrator.Tests" --filter "FullyQualifiedName~OpenApiFuzzTests" -v quiet -nologo \
        | grep -E "Passed!|Failed!|error|answered|dropped" || true
fi

log "summary (machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); results in $WORK)"
python3 - "$WORK" "$CLIENTS" "$LOCKED" <<'PY'
import json, re, sys, os
work, clients, locked = sys.argv[1], sys.argv[2].split(), sys.argv[3]
def result(label):
    path = os.path.join(work, label + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
def pgbench(c):
    text = open(os.path.join(work, f"pgbench-{c}.txt")).read()
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    return float(m.group(1)) if m else float("nan")
def p99(r):
    return max(r["latency_ms"][k]["p99"] for k in ("ProposeRunning", "ProposeCompleted"))
print(f"{'clients':>7} | {'PG set_state/s':>14} | {'pgbench tps':>11} | {'ratio':>6} | {'PG p99 ms':>9} | {'PG errors':>9} | {'CPU ms/req':>10} | {'SQLite set_state/s':>18} | {'SQLite p99 ms':>13} | {'SQLite errors':>13}")
for c in clients:
    pg, lite, tps = result(f"postgres-{c}"), result(f"sqlite-{c}"), pgbench(c)
    print(f"{c:>7} | {pg['set_state_per_second']:>14.1f} | {tps:>11.1f} | {pg['set_state_per_second'] / tps:>6.2f} | {p99(pg):>9.1f} | {pg['errors']:>9} | "
          f"{pg['server_cpu_ms_per_request']:>10.3f} | {lite['set_state_per_second']:>18.1f} | {p99(lite):>13.1f} | {lite['errors']:>13}")
small, big = result("stored-10k"), result("stored-1m")
if small and big:
    print(f"stored task runs: 10k -> {small['set_state_per_second']:.1f} set_state/s, 1M -> {big['set_state_per_second']:.1f} set_state/s "
          f"(ratio {big['set_state_per_second'] / small['set_state_per_second']:.2f})")
soak = result("soak")
if soak and soak.get("server_memory"):
    m = soak["server_memory"]
    print(f"soak memory: {m['first_megabytes']:.0f} MB at start, {m['last_megabytes']:.0f} MB at end, {m['max_megabytes']:.0f} MB max")
for mode in ("Fixed", "Adaptive"):
    d = result(f"drain-{mode}")
    if d:
        print(f"drain, {mode.lower()} WAIT: {d['tasks']} tasks of {d['task_seconds']:g} s through a limit of {d['limit']}: "
              f"{d['measured_seconds']:.1f} s against an ideal {d['ideal_seconds']:.1f} s, efficiency {d['efficiency']:.2f} ({d['waits']} WAITs, {d['errors']} errors)")
print(f"'database is locked' in the SQLite server log: {locked}")
PY
