#!/usr/bin/env bash
# Measures Tollgate against its floor (benches/floor: a tonic server that
# answers messages of the same size with no policy work), in the same run,
# with the server pinned to one core and the load to another (the machine
# is small and shared), and reports Tollgate's throughput and p99 as ratios
# to the floor's. Two witnesses: our load generator (`tollgate-bench`) and
# Debian's h2load sending a length-prefixed gRPC body.
#
# The floor's sockets get TCP_NODELAY, as tonic's `serve(addr)` gives them,
# and so do Tollgate's. NAGLE=1 also runs the floor with Nagle's algorithm on
# (floor_nagle), to show what a server that forgets TCP_NODELAY pays.
#
# In every run, in this order: the floor, Tollgate with defaults, then each
# extra that is on, each a fresh server on the same pinned core:
#
# LOG=1      the same server with `--decision-log FILE` (a fresh file per
#            load; LOG_DIR picks the directory, LOG_ARGS adds flags), both
#            loads. After each load the script reads the server's
#            `tollgate_decisions_total` (every label, summed: warm-up and
#            measured calls) and `tollgate_decision_log_events_total`
#            {dropped,failed} from the admin port, stops the server (which
#            drains the log) and counts the file's lines. Lines must equal
#            decisions and dropped and failed be 0; a mismatch is said at
#            once, recorded in results.json (`decision_log_check`) and makes
#            the script exit 1 at the end.
# BASELINE_BIN=PATH  that build with defaults (say, run E's code), both loads,
#            right after ours: its ratio to the floor beside ours.
# BASELINE_BUNDLE=DIR  with BASELINE_BIN: also ours serving DIR, the bundle
#            the baseline build embeds (its demo, with whatever its tests
#            need to load here), both loads, right after the baseline: the
#            same policy on both builds, so the code is what differs (the
#            demo grew from 22 to 31 rules since run E).
# SHADOW=1   the same server with --shadow-bundle SHADOW_BUNDLE (the demo
#            again, so every decision is also decided and agrees).
# TLS=1      Tollgate over TLS and over mutual TLS with a caller policy that
#            lets the load generator's certificate call the decision RPCs
#            (so the authorization layer runs), our load generator only
#            (h2load cannot present a client certificate). Certificates from
#            `examples/gen-certs.rs` (rcgen, no openssl).
# RELOAD=1   the same server on a copy of the demo bundle (`--bundle DIR`)
#            loaded with RELOAD_MIX (all three decision RPCs, as
#            reload-under-load.sh), once left alone and once with a new
#            revision written every RELOAD_INTERVAL (0.11 s: see
#            scripts/reload-under-load.sh): throughput with
#            reloads over without, failed calls, revisions that went live.
# INTERLEAVE=1  after the runs, scripts/interleave.sh: the floor and
#            defaults in short loads that take turns (12 rounds of 2 s, or
#            INTERLEAVE_ROUNDS), and so the log on (LOG=1), steady and
#            reloading (RELOAD=1) and the baseline (BASELINE_BIN; with
#            LOG=1 also both logging); the
#            targets are judged by its medians, which the machine's moments
#            move less than the runs above.
# After the runs:
# ENGINE=1   cargo bench --bench engine -- --warm-up-time 1 --measurement-time 2 '/native/'
#            (CRITERION_HOME=OUT/criterion): each demo case's median, ns.
# RSS=1      scripts/idle-rss.sh on the server binary (and BASELINE_BIN).
# INSTR=1    instructions counted by callgrind, which this machine's load and
#            speed do not move (about 5 minutes; installs valgrind):
#            scripts/instructions-per-call.sh on the floor (RPC=floor), on
#            defaults and on the log on, and scripts/engine-instructions.sh on
#            the engine bench (OUT/instructions/).
# FULL=1     all of LOG, SHADOW, TLS, RELOAD, INTERLEAVE, ENGINE, RSS, INSTR (each can still be
#            set to 0), BASELINE when BASELINE_BIN is set.
#
#   scripts/bench.sh            # 3 runs; medians in target/bench/results.json
#   RUNS=5 DURATION=20 scripts/bench.sh
#   SERVER_BIN=/path/to/other/tollgate scripts/bench.sh   # measure another build
#   FULL=1 RUNS=2 DURATION=8 BASELINE_BIN=/tmp/tollgate-before-bin scripts/bench.sh
#   LOG=1 LOG_ARGS='--decision-log-queue 1' scripts/bench.sh   # a lossy log: must fail
#
# At the end: OUT/results.json (scripts/bench_results.py collect) and, on
# stdout, issue 15's targets as a Markdown table, met or not
# (scripts/bench_results.py summary OUT/results.json; OUT/summary.md).
# Every load goes to 127.0.0.1 and is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}       # measured seconds per load
WARMUP=${WARMUP:-2}            # seconds of calls before measuring
CONNECTIONS=${CONNECTIONS:-4}
CONCURRENCY=${CONCURRENCY:-64} # calls in flight in total
SERVER_CPU=${SERVER_CPU:-0}    # core of the server under test
CLIENT_CPU=${CLIENT_CPU:-1}    # core of the load generator
TOLLGATE_PORT=${TOLLGATE_PORT:-50151}
FLOOR_PORT=${FLOOR_PORT:-50161}
RELOAD_PORT=${RELOAD_PORT:-50171}
ADMIN_PORT=${ADMIN_PORT:-9464} # Tollgate's admin port (its default)
FULL=${FULL:-0}
NAGLE=${NAGLE:-0}              # 1: also measure the floor with Nagle on
TLS=${TLS:-$FULL}
SHADOW=${SHADOW:-$FULL}
SHADOW_BUNDLE=${SHADOW_BUNDLE:-bundles/demo}  # the candidate SHADOW=1 loads
LOG=${LOG:-$FULL}
LOG_ARGS=${LOG_ARGS:-}         # more flags for the LOG=1 server (word-split)
RELOAD=${RELOAD:-$FULL}
RELOAD_MIX=${RELOAD_MIX:-plan_change=1,payment_link=1,charge_funding=1}
RELOAD_INTERVAL=${RELOAD_INTERVAL:-0.11}
ENGINE=${ENGINE:-$FULL}
INTERLEAVE=${INTERLEAVE:-$FULL}
INTERLEAVE_ROUNDS=${INTERLEAVE_ROUNDS:-12}
RSS=${RSS:-$FULL}
INSTR=${INSTR:-$FULL}
BASELINE_BIN=${BASELINE_BIN:-}
BASELINE_BUNDLE=${BASELINE_BUNDLE:-}
KEEP_LOGS=${KEEP_LOGS:-0}      # 1: keep the decision-log files
OUT=${OUT:-target/bench}       # reports; emptied first
LOG_DIR=${LOG_DIR:-$OUT/decision-logs}
STREAMS=$((CONCURRENCY / CONNECTIONS))
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
# How this run was asked for, for the summary's first line.
COMMAND=
for v in FULL RUNS DURATION LOG LOG_ARGS TLS SHADOW RELOAD INTERLEAVE ENGINE RSS INSTR NAGLE SERVER_BIN BASELINE_BIN BASELINE_BUNDLE; do
  if [ -n "${!v:-}" ] && [ "${!v}" != 0 ]; then COMMAND+="$v=${!v@Q} "; fi
done
COMMAND+="scripts/bench.sh"

# --- tools ----------------------------------------------------------------
if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
  say "installing nghttp2-client (h2load, nghttp)"
  apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null
fi
if [ "$INSTR" = 1 ] && ! command -v valgrind >/dev/null; then
  say "installing valgrind (INSTR=1)"
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
command -v taskset >/dev/null || { say "taskset (util-linux) is needed"; exit 1; }
command -v curl >/dev/null || { say "curl is needed (LOG=1 reads /metrics)"; exit 1; }
[ "$(nproc)" -ge 2 ] || say "warning: fewer than 2 cores; server and load share one"
if [ -n "$BASELINE_BIN" ] && [ ! -x "$BASELINE_BIN" ]; then
  say "BASELINE_BIN=$BASELINE_BIN is not an executable"
  exit 1
fi

bench_build
SERVER_BIN=${SERVER_BIN:-$TOLLGATE}  # the Tollgate server to measure (another build, say)
floor_bin
if [ "$ENGINE" = 1 ]; then cargo bench --no-run --quiet --bench engine; fi
rm -rf "$OUT"
mkdir -p "$OUT"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
PKI=$OUT/pki
if [ "$TLS" = 1 ]; then
  say "making certificates in $PKI"
  cargo run --release --quiet --example gen-certs -- "$PKI" >/dev/null
  cat >"$PKI/callers.yaml" <<'POLICY'
callers:
  - identity: "spiffe://bench.example/loadgen"
    rpcs: ["tollgate.v1.DecisionService/*"]
POLICY
fi

start_floor() { start_server "$FLOOR_PORT" "$FLOOR" --listen "127.0.0.1:$FLOOR_PORT" "$@"; }
start_tollgate() {
  start_server "$TOLLGATE_PORT" env RUST_LOG=warn "$SERVER_BIN" serve \
    --listen "127.0.0.1:$TOLLGATE_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" \
    --poll-interval 0 "$@"
}
# The baseline build with its defaults (admin port included) but the ports.
start_baseline() {
  start_server "$TOLLGATE_PORT" env RUST_LOG=warn "$BASELINE_BIN" serve \
    --listen "127.0.0.1:$TOLLGATE_PORT" --poll-interval 0
}
SERVER_TLS=(--tls-cert "$PKI/server.crt" --tls-key "$PKI/server.key")
SERVER_MTLS=("${SERVER_TLS[@]}" --client-ca "$PKI/ca.crt" --caller-policy "$PKI/callers.yaml")
CLIENT_TLS=(--tls-ca "$PKI/ca.crt")
CLIENT_MTLS=("${CLIENT_TLS[@]}" --tls-cert "$PKI/client.crt" --tls-key "$PKI/client.key")

# --- loads ----------------------------------------------------------------
# h2load_run NAME PORT PATH BODY: h2load with the same connections and calls
# in flight, the same body on every call.
h2load_run() {
  local name=$1 port=$2 path=$3 body=$4
  taskset -c "$CLIENT_CPU" h2load -D "$DURATION" --warm-up-time "$WARMUP" \
    -c "$CONNECTIONS" -m "$STREAMS" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$body" \
    "http://127.0.0.1:$port$path" >"$OUT/$name.txt"
}

PC_PATH=/tollgate.v1.DecisionService/DecidePlanChange
ECHO_PATH=/bench.v1.FloorService/Echo
"$BENCH" --mix plan_change --write-grpc-body "$OUT/plan_change.bin"
"$BENCH" --rpc floor --mix plan_change --write-grpc-body "$OUT/echo.bin"

# h2load counts HTTP 200, and a gRPC error is an HTTP 200 too, with
# grpc-status in the trailers: check once that each body is answered with
# grpc-status 0 and a response that decodes.
verify() {
  local port=$1 path=$2 body=$3 rpc=$4 name=$5
  nghttp -v -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$body" "http://127.0.0.1:$port$path" >"$OUT/$name.nghttp.txt"
  nghttp -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$body" "http://127.0.0.1:$port$path" >"$OUT/$name.response.bin"
  grep -aq 'grpc-status: 0' "$OUT/$name.nghttp.txt" \
    || { say "$name: no grpc-status 0 in the trailers (see $OUT/$name.nghttp.txt)"; exit 1; }
  "$BENCH" --rpc "$rpc" --mix plan_change \
    --decode-grpc-response "$OUT/$name.response.bin" >"$OUT/$name.response.txt"
  say "verified: $name answers the h2load body with grpc-status 0 and a decodable message"
}
start_floor
verify "$FLOOR_PORT" "$ECHO_PATH" "$OUT/echo.bin" floor floor
stop_server
start_tollgate
verify "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin" decision tollgate
stop_server
if [ -n "$BASELINE_BIN" ]; then
  start_baseline
  verify "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin" decision baseline
  stop_server
fi
if [ -n "$BASELINE_BUNDLE" ]; then
  start_tollgate --bundle "$BASELINE_BUNDLE"
  verify "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin" decision same-bundle
  stop_server
fi

# --- the decision-log check -----------------------------------------------
LOG_FAILURES=0
# metric PREFIX: the sum of the samples in OUT/metrics.txt whose series
# (name and labels) starts with PREFIX.
metric() {
  awk -v p="$1" 'index($1, p) == 1 { s += $2 } END { printf "%d\n", s }' "$OUT/metrics.txt"
}
# logged_load NAME LOAD...: starts the server with a fresh decision log,
# runs LOAD (a loadgen or h2load_run command line), then checks the log.
logged_load() {
  local name=$1
  shift
  local file=$LOG_DIR/$name.jsonl
  rm -f "$file"
  # shellcheck disable=SC2086  # LOG_ARGS is a list of flags
  start_tollgate --decision-log "$file" $LOG_ARGS
  "$@"
  curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" >"$OUT/metrics.txt" \
    || { say "$name: cannot read http://127.0.0.1:$ADMIN_PORT/metrics"; exit 1; }
  local decisions dropped failed lines bytes
  decisions=$(metric 'tollgate_decisions_total{')
  dropped=$(metric 'tollgate_decision_log_events_total{result="dropped"}')
  failed=$(metric 'tollgate_decision_log_events_total{result="failed"}')
  stop_server  # SIGTERM: the server writes what is queued before it exits
  lines=$(wc -l <"$file")
  bytes=$(stat -c %s "$file")
  [ "$KEEP_LOGS" = 1 ] || rm -f "$file"
  local ok=true
  if [ "$lines" -ne "$decisions" ] || [ "$dropped" -ne 0 ] || [ "$failed" -ne 0 ] \
    || [ "$decisions" -eq 0 ]; then
    ok=false
    LOG_FAILURES=$((LOG_FAILURES + 1))
    say "!!! $name: DECISIONS LOST: $lines log lines for $decisions decisions answered," \
      "$dropped dropped, $failed failed"
  else
    say "$name: $lines log lines = $decisions decisions answered, 0 dropped, 0 failed"
  fi
  printf '{"load": "%s", "decisions": %s, "lines": %s, "dropped": %s, "failed": %s, "bytes": %s, "ok": %s}\n' \
    "$name" "$decisions" "$lines" "$dropped" "$failed" "$bytes" "$ok" >"$OUT/$name.logcheck.json"
}
if [ "$LOG" = 1 ]; then mkdir -p "$LOG_DIR"; fi

# --- runs -----------------------------------------------------------------
for i in $(seq "$RUNS"); do
  say "run $i/$RUNS: floor"
  start_floor
  loadgen "floor-$i" "$FLOOR_PORT" --rpc floor
  h2load_run "h2load-floor-$i" "$FLOOR_PORT" "$ECHO_PATH" "$OUT/echo.bin"
  stop_server
  say "run $i/$RUNS: tollgate"
  start_tollgate
  loadgen "tollgate-$i" "$TOLLGATE_PORT"
  h2load_run "h2load-tollgate-$i" "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin"
  stop_server
  if [ "$LOG" = 1 ]; then
    # Right after the plain run, same loads: the cost of the decision log.
    say "run $i/$RUNS: tollgate with --decision-log"
    logged_load "tollgate-log-$i" loadgen "tollgate-log-$i" "$TOLLGATE_PORT"
    logged_load "h2load-tollgate-log-$i" \
      h2load_run "h2load-tollgate-log-$i" "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin"
  fi
  if [ -n "$BASELINE_BIN" ]; then
    say "run $i/$RUNS: baseline $BASELINE_BIN"
    start_baseline
    loadgen "baseline-$i" "$TOLLGATE_PORT"
    h2load_run "h2load-baseline-$i" "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin"
    stop_server
    if [ -n "$BASELINE_BUNDLE" ]; then
      say "run $i/$RUNS: tollgate on the baseline's bundle $BASELINE_BUNDLE"
      start_tollgate --bundle "$BASELINE_BUNDLE"
      loadgen "same-bundle-$i" "$TOLLGATE_PORT"
      h2load_run "h2load-same-bundle-$i" "$TOLLGATE_PORT" "$PC_PATH" "$OUT/plan_change.bin"
      stop_server
    fi
  fi
  if [ "$SHADOW" = 1 ]; then
    say "run $i/$RUNS: tollgate with --shadow-bundle $SHADOW_BUNDLE"
    start_tollgate --shadow-bundle "$SHADOW_BUNDLE"
    loadgen "tollgate-shadow-$i" "$TOLLGATE_PORT"
    stop_server
  fi
  if [ "$TLS" = 1 ]; then
    say "run $i/$RUNS: tollgate over TLS"
    start_tollgate "${SERVER_TLS[@]}"
    SCHEME=https loadgen "tollgate-tls-$i" "$TOLLGATE_PORT" "${CLIENT_TLS[@]}"
    stop_server
    say "run $i/$RUNS: tollgate over mutual TLS, caller policy on"
    start_tollgate "${SERVER_MTLS[@]}"
    SCHEME=https loadgen "tollgate-mtls-$i" "$TOLLGATE_PORT" "${CLIENT_MTLS[@]}"
    stop_server
  fi
  if [ "$RELOAD" = 1 ]; then
    say "run $i/$RUNS: tollgate --bundle DIR, steady and a new revision every ${RELOAD_INTERVAL}s (steady first in odd runs)"
    reload_pair reload "$i"
  fi
  if [ "$NAGLE" = 1 ]; then
    say "run $i/$RUNS: floor with Nagle's algorithm on"
    start_floor --nagle
    loadgen "floor-nagle-$i" "$FLOOR_PORT" --rpc floor
    stop_server
  fi
done

# --- after the runs -------------------------------------------------------
if [ "$INTERLEAVE" = 1 ]; then
  pairs=defaults
  if [ "$LOG" = 1 ]; then pairs+=,log; fi
  if [ "$RELOAD" = 1 ]; then pairs+=,reload; fi
  if [ -n "$BASELINE_BIN" ]; then
    pairs+=,baseline
    if [ "$LOG" = 1 ]; then pairs+=,baseline-log; fi
  fi
  say "interleaved: scripts/interleave.sh ($pairs), $INTERLEAVE_ROUNDS rounds"
  OUT=$OUT/interleave ROUNDS=$INTERLEAVE_ROUNDS DURATION=2 WARMUP=1 PAIRS=$pairs SERVER_BIN=$SERVER_BIN \
    BASELINE_BIN=$BASELINE_BIN RELOAD_INTERVAL=$RELOAD_INTERVAL RELOAD_MIX=$RELOAD_MIX \
    CONNECTIONS=$CONNECTIONS CONCURRENCY=$CONCURRENCY SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU \
    scripts/interleave.sh >/dev/null
fi
if [ "$ENGINE" = 1 ]; then
  say "engine: cargo bench --bench engine (native cases)"
  CRITERION_HOME=$(realpath "$OUT")/criterion cargo bench --quiet --bench engine -- \
    --warm-up-time 1 --measurement-time 2 '/native/' >"$OUT/engine.txt"
fi
if [ "$RSS" = 1 ]; then
  say "idle RSS: scripts/idle-rss.sh $SERVER_BIN $BASELINE_BIN"
  # shellcheck disable=SC2086  # BASELINE_BIN is empty or one path
  scripts/idle-rss.sh "$SERVER_BIN" $BASELINE_BIN >"$OUT/idle-rss.txt"
fi

if [ "$INSTR" = 1 ]; then
  say "instructions per call (callgrind): the floor, defaults, the log on; per engine case"
  mkdir -p "$OUT/instructions"
  JSON=$OUT/instructions/floor.json RPC=floor scripts/instructions-per-call.sh "$FLOOR" \
    >"$OUT/instructions/floor.txt"
  JSON=$OUT/instructions/defaults.json scripts/instructions-per-call.sh "$SERVER_BIN" \
    >"$OUT/instructions/defaults.txt"
  JSON=$OUT/instructions/log.json scripts/instructions-per-call.sh "$SERVER_BIN" \
    --decision-log "$BENCH_TMP/instructions.jsonl" >"$OUT/instructions/log.txt"
  JSON=$OUT/instructions/engine.json scripts/engine-instructions.sh >"$OUT/instructions/engine.txt"
fi

# --- results --------------------------------------------------------------
dirty=
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then dirty="+changes"; fi
COMMIT="$(git rev-parse --short HEAD)$dirty" LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg) \
  COMMAND=$COMMAND STARTED=$STARTED LOADAVG_START=$LOADAVG_START SERVER_BIN=$SERVER_BIN \
  BASELINE_BIN=$BASELINE_BIN LOG_ARGS=$LOG_ARGS RELOAD_MIX=$RELOAD_MIX \
  python3 - "$OUT/settings.json" "$RUNS" "$DURATION" "$WARMUP" "$CONNECTIONS" \
  "$CONCURRENCY" "$SERVER_CPU" "$CLIENT_CPU" "$RELOAD_INTERVAL" <<'PY'
import json, os, sys
e = os.environ
runs, duration, warmup, connections, concurrency, server_cpu, client_cpu = map(int, sys.argv[2:9])
json.dump({
    "command": e["COMMAND"], "commit": e["COMMIT"], "started": e["STARTED"],
    "loadavg_start": e["LOADAVG_START"], "loadavg_end": e["LOADAVG_END"],
    "runs": runs, "duration_secs": duration, "warmup_secs": warmup,
    "connections": connections, "concurrency": concurrency,
    "server_cpu": server_cpu, "client_cpu": client_cpu, "rpc": "DecidePlanChange",
    "server_bin": e["SERVER_BIN"], "baseline_bin": e["BASELINE_BIN"] or None,
    "log_args": e["LOG_ARGS"], "reload_mix": e["RELOAD_MIX"],
    "reload_interval_secs": float(sys.argv[9]),
}, open(sys.argv[1], "w"), indent=2)
PY
python3 scripts/bench_results.py collect "$OUT" >/dev/null
python3 scripts/bench_results.py summary "$OUT/results.json" | tee "$OUT/summary.md"
say "wrote $OUT/results.json and $OUT/summary.md (per-load reports beside them)"
if [ "$LOG_FAILURES" -gt 0 ]; then
  say "!!! FAILED: the decision log lost decisions in $LOG_FAILURES load(s): see" \
    "decision_log_check in $OUT/results.json"
  exit 1
fi
