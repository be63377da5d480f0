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
# TLS=1 also runs Tollgate over TLS and over mutual TLS with a caller policy
# that lets the load generator's certificate call the decision RPCs (so the
# authorization layer runs), in every run right after plaintext, with our
# load generator only (h2load cannot present a client certificate). The
# certificates come from `examples/gen-certs.rs` (rcgen, no openssl).
#
#   scripts/bench.sh            # 3 runs; medians in target/bench/results.json
#   RUNS=5 DURATION=20 scripts/bench.sh
#   SERVER_BIN=/path/to/other/tollgate scripts/bench.sh   # measure another build
#   TLS=1 scripts/bench.sh      # plus tollgate_tls and tollgate_mtls
#   SHADOW=1 scripts/bench.sh   # plus tollgate_shadow: the same server with
#                               # --shadow-bundle (the demo again, so every
#                               # decision is also decided and agrees)
#
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
NAGLE=${NAGLE:-0}              # 1: also measure the floor with Nagle on
TLS=${TLS:-0}                  # 1: also measure Tollgate over TLS and mutual TLS
SHADOW=${SHADOW:-0}            # 1: also measure Tollgate with a shadow bundle
SHADOW_BUNDLE=${SHADOW_BUNDLE:-bundles/demo}  # the candidate SHADOW=1 loads
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-target/bench}          # reports; emptied first
STREAMS=$((CONCURRENCY / CONNECTIONS))

say() { printf '%s\n' "$*" >&2; }

# --- tools ----------------------------------------------------------------
if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
  say "installing nghttp2-client (h2load, nghttp)"
  apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null
fi
command -v taskset >/dev/null || { say "taskset (util-linux) is needed"; exit 1; }
[ "$(nproc)" -ge 2 ] || say "warning: fewer than 2 cores; server and load share one"

say "building (release)"
cargo build --release --quiet   # both binaries: the service and the load generator
TOLLGATE=$TARGET_DIR/release/tollgate
BENCH=$TARGET_DIR/release/tollgate-bench  # the load generator
SERVER_BIN=${SERVER_BIN:-$TOLLGATE}  # the Tollgate server to measure (another build, say)
# The bench target's executable (the package's binaries are built too).
FLOOR=$(cargo bench --no-run --bench floor --message-format=json 2>/dev/null \
  | grep '"kind":\["bench"\]' | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
[ -x "$FLOOR" ] || { say "cannot find the floor binary"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
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

# --- servers --------------------------------------------------------------
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

# start_server PORT COMMAND...: runs COMMAND pinned to SERVER_CPU and waits
# (at most 10 s) until PORT accepts connections.
start_server() {
  local port=$1
  shift
  taskset -c "$SERVER_CPU" "$@" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { say "server exited: $*"; exit 1; }
    sleep 0.1
  done
  say "server not listening on $port after 10 s: $*"
  exit 1
}

start_floor() { start_server "$FLOOR_PORT" "$FLOOR" --listen "127.0.0.1:$FLOOR_PORT" "$@"; }
start_tollgate() {
  start_server "$TOLLGATE_PORT" env RUST_LOG=warn "$SERVER_BIN" serve \
    --listen "127.0.0.1:$TOLLGATE_PORT" --poll-interval 0 "$@"
}
SERVER_TLS=(--tls-cert "$PKI/server.crt" --tls-key "$PKI/server.key")
SERVER_MTLS=("${SERVER_TLS[@]}" --client-ca "$PKI/ca.crt" --caller-policy "$PKI/callers.yaml")
CLIENT_TLS=(--tls-ca "$PKI/ca.crt")
CLIENT_MTLS=("${CLIENT_TLS[@]}" --tls-cert "$PKI/client.crt" --tls-key "$PKI/client.key")

# --- loads ----------------------------------------------------------------
# loadgen NAME PORT ARGS...: our load generator against PORT, one JSON line
# (SCHEME=https for TLS).
loadgen() {
  local name=$1 port=$2
  shift 2
  taskset -c "$CLIENT_CPU" "$BENCH" --target "${SCHEME:-http}://127.0.0.1:$port" \
    --mix plan_change --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" \
    --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" --json "$@" \
    >"$OUT/$name.json"
}

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
  if [ "$SHADOW" = 1 ]; then
    # Right after the plain run, same load: the cost of shadow evaluation.
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
  if [ "$NAGLE" = 1 ]; then
    say "run $i/$RUNS: floor with Nagle's algorithm on"
    start_floor --nagle
    loadgen "floor-nagle-$i" "$FLOOR_PORT" --rpc floor
    stop_server
  fi
done

# --- results --------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "null";
  else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# json_field NAME KEY: the median of KEY over the runs' JSON reports.
json_field() {
  for f in "$OUT/$1"-[0-9]*.json; do grep -o "\"$2\":[^,}]*" "$f" | head -1 | cut -d: -f2; done | median
}
# The server CPU per call is the one `us_per_call` after `server_cpu`
# (`cores` is the first one: the server's comes before the client's).
server_us() {
  for f in "$OUT/$1"-[0-9]*.json; do
    grep -o '"server_cpu":{[^}]*}' "$f" | grep -o '"us_per_call":[^,}]*' | cut -d: -f2
  done | median
}
sum() { awk '{ s += $1 } END { print s + 0 }'; }
# failed NAME: failed calls over every run.
failed() {
  for f in "$OUT/$1"-[0-9]*.json; do
    awk -v r="$(grep -o '"requests":[0-9]*' "$f" | cut -d: -f2)" \
      -v o="$(grep -o '"ok":[0-9]*' "$f" | cut -d: -f2)" 'BEGIN { print r - o }'
  done | sum
}
# h2load: median req/s, median of the mean latency (µs), and failed,
# errored and timed-out requests over every run.
h2load_rps() { for f in "$OUT/$1"-[0-9]*.txt; do awk '/^finished in/ { print $4 }' "$f"; done | median; }
h2load_mean_us() {
  for f in "$OUT/$1"-[0-9]*.txt; do
    awk '/^time for request:/ { v = $6; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
      print (u == "ms") ? v * 1000 : (u == "s") ? v * 1000000 : v }' "$f"
  done | median
}
h2load_bad() { for f in "$OUT/$1"-[0-9]*.txt; do awk '/^requests:/ { print $10 + $12 + $14 }' "$f"; done | sum; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "null" || b == "null") print "null"; else printf "%.3f", a / b }'; }

summary() { # NAME: one JSON object of medians
  printf '{"throughput": %s, "p50_us": %s, "p90_us": %s, "p99_us": %s, "p999_us": %s, "server_cpu_us_per_call": %s, "server_cores": %s, "failed": %s}' \
    "$(json_field "$1" throughput)" "$(json_field "$1" p50)" "$(json_field "$1" p90)" \
    "$(json_field "$1" p99)" "$(json_field "$1" p999)" "$(server_us "$1")" \
    "$(json_field "$1" cores)" "$(failed "$1")"
}
h2summary() {
  printf '{"throughput": %s, "mean_us": %s, "failed_or_errored": %s}' \
    "$(h2load_rps "$1")" "$(h2load_mean_us "$1")" "$(h2load_bad "$1")"
}

T_RPS=$(json_field tollgate throughput); F_RPS=$(json_field floor throughput)
T_P99=$(json_field tollgate p99); F_P99=$(json_field floor p99)
HT_RPS=$(h2load_rps h2load-tollgate); HF_RPS=$(h2load_rps h2load-floor)
{
  printf '{\n  "runs": %s, "duration_secs": %s, "warmup_secs": %s, "connections": %s, "concurrency": %s,\n' \
    "$RUNS" "$DURATION" "$WARMUP" "$CONNECTIONS" "$CONCURRENCY"
  printf '  "server_cpu": %s, "client_cpu": %s, "rpc": "DecidePlanChange",\n' "$SERVER_CPU" "$CLIENT_CPU"
  printf '  "loadgen": {\n    "tollgate": %s,\n    "floor": %s' "$(summary tollgate)" "$(summary floor)"
  if [ "$NAGLE" = 1 ]; then printf ',\n    "floor_nagle": %s' "$(summary floor-nagle)"; fi
  if [ "$SHADOW" = 1 ]; then printf ',\n    "tollgate_shadow": %s' "$(summary tollgate-shadow)"; fi
  if [ "$TLS" = 1 ]; then
    printf ',\n    "tollgate_tls": %s,\n    "tollgate_mtls": %s' \
      "$(summary tollgate-tls)" "$(summary tollgate-mtls)"
  fi
  printf '\n  },\n  "h2load": {\n    "tollgate": %s,\n    "floor": %s\n  },\n' \
    "$(h2summary h2load-tollgate)" "$(h2summary h2load-floor)"
  printf '  "ratios": {\n    "loadgen_throughput_tollgate_over_floor": %s,\n' "$(ratio "$T_RPS" "$F_RPS")"
  printf '    "loadgen_p99_tollgate_over_floor": %s,\n' "$(ratio "$T_P99" "$F_P99")"
  printf '    "server_cpu_per_call_tollgate_over_floor": %s,\n' \
    "$(ratio "$(server_us tollgate)" "$(server_us floor)")"
  if [ "$SHADOW" = 1 ]; then
    printf '    "loadgen_throughput_shadow_over_plain": %s,\n' \
      "$(ratio "$(json_field tollgate-shadow throughput)" "$T_RPS")"
    printf '    "loadgen_p99_shadow_over_plain": %s,\n' \
      "$(ratio "$(json_field tollgate-shadow p99)" "$T_P99")"
  fi
  if [ "$TLS" = 1 ]; then
    for mode in tls mtls; do
      printf '    "loadgen_throughput_%s_over_plaintext": %s,\n' "$mode" \
        "$(ratio "$(json_field "tollgate-$mode" throughput)" "$T_RPS")"
      printf '    "loadgen_p50_%s_over_plaintext": %s,\n' "$mode" \
        "$(ratio "$(json_field "tollgate-$mode" p50)" "$(json_field tollgate p50)")"
      printf '    "loadgen_p99_%s_over_plaintext": %s,\n' "$mode" \
        "$(ratio "$(json_field "tollgate-$mode" p99)" "$T_P99")"
      printf '    "server_cpu_per_call_%s_over_plaintext": %s,\n' "$mode" \
        "$(ratio "$(server_us "tollgate-$mode")" "$(server_us tollgate)")"
    done
  fi
  if [ "$NAGLE" = 1 ]; then
    printf '    "loadgen_throughput_tollgate_over_floor_nagle": %s,\n' \
      "$(ratio "$T_RPS" "$(json_field floor-nagle throughput)")"
    printf '    "loadgen_p99_tollgate_over_floor_nagle": %s,\n' \
      "$(ratio "$T_P99" "$(json_field floor-nagle p99)")"
  fi
  printf '    "h2load_throughput_tollgate_over_floor": %s\n  }\n}\n' "$(ratio "$HT_RPS" "$HF_RPS")"
} >"$OUT/results.json"
cat "$OUT/results.json"
say "wrote $OUT/results.json (per-run reports beside it)"
