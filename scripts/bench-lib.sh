# Shared by the benchmark scripts (bench.sh, reload-under-load.sh,
# interleave.sh, log-writer-cpu.sh; sourced, not run): building, starting
# and stopping a pinned server, our load generator, and the reload pair (the
# same load on `serve --bundle DIR` with the bundle left alone, then with a
# new revision written every RELOAD_INTERVAL).
#
# The caller sets, before sourcing: OUT (reports directory), DURATION,
# WARMUP, CONNECTIONS, CONCURRENCY, SERVER_CPU, CLIENT_CPU; and before
# calling reload_pair: SERVER_BIN, RELOAD_PORT, RELOAD_MIX, RELOAD_INTERVAL.
# shellcheck shell=bash

say() { printf '%s\n' "$*" >&2; }

TARGET_DIR=${CARGO_TARGET_DIR:-target}
# shellcheck disable=SC2034  # for the scripts that source this
TOLLGATE=$TARGET_DIR/release/tollgate
BENCH=$TARGET_DIR/release/tollgate-bench  # the load generator

# bench_build: the release service and load generator.
bench_build() {
  say "building (release)"
  cargo build --release --quiet   # both binaries: the service and the load generator
}

# floor_bin: sets FLOOR to the floor's executable (benches/floor, the bench
# target), building it if needed; exits when there is none.
floor_bin() {
  FLOOR=$(cargo bench --no-run --bench floor --message-format=json 2>/dev/null \
    | grep '"kind":\["bench"\]' | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
  [ -x "$FLOOR" ] || { say "cannot find the floor binary"; exit 1; }
}

# --- servers --------------------------------------------------------------
SERVER_PID=
RELOADER_PID=
BENCH_TMP=$(mktemp -d)
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
stop_reloader() {
  if [ -n "$RELOADER_PID" ]; then
    kill "$RELOADER_PID" 2>/dev/null || true
    wait "$RELOADER_PID" 2>/dev/null || true
    RELOADER_PID=
  fi
}
bench_cleanup() {
  stop_reloader
  stop_server
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

# start_server PORT COMMAND...: runs COMMAND pinned to SERVER_CPU (its
# stderr to SERVER_STDERR when set) and waits (at most 10 s) until PORT
# accepts connections.
start_server() {
  local port=$1
  shift
  if [ -n "${SERVER_STDERR:-}" ]; then
    taskset -c "$SERVER_CPU" "$@" 2>"$SERVER_STDERR" &
  else
    taskset -c "$SERVER_CPU" "$@" &  # not 2>/dev/stderr: that truncates a redirected stderr
  fi
  SERVER_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { say "server exited: $*"; exit 1; }
    sleep 0.1
  done
  say "server not listening on $port after 10 s: $*"
  exit 1
}

# --- loads ----------------------------------------------------------------
# loadgen NAME PORT ARGS...: our load generator against PORT, one JSON line
# in OUT/NAME.json (SCHEME=https for TLS, MIX for other RPC weights).
loadgen() {
  local name=$1 port=$2
  shift 2
  taskset -c "$CLIENT_CPU" "$BENCH" --target "${SCHEME:-http}://127.0.0.1:$port" \
    --mix "${MIX:-plan_change}" --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" \
    --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" --json "$@" \
    >"$OUT/$name.json"
}

# --- reload under load ----------------------------------------------------
# A copy of the demo bundle that the reloader rewrites.
RELOAD_BUNDLE=$BENCH_TMP/bundle
reload_bundle() {
  rm -rf "$RELOAD_BUNDLE"
  mkdir -p "$RELOAD_BUNDLE"
  cp bundles/demo/*.yaml "$RELOAD_BUNDLE"/
}

# reloader NAME: in the background, until the load's warm-up and
# measurement are over, writes a new revision of bundle.yaml every
# RELOAD_INTERVAL seconds (beside it and renamed into place, as a deploy
# would); the count goes to OUT/NAME.written. One process for the whole
# run, on the load generator's core: the deploy is not the server's work,
# and a `sed` and a `mv` per revision (what this was) cost 6% of a core,
# landing on either.
reloader() {
  local name=$1
  taskset -c "$CLIENT_CPU" python3 - "$name" "$RELOAD_BUNDLE" "$RELOAD_INTERVAL" \
    $((DURATION + WARMUP + 1)) "$OUT/$name.written" <<'PY' &
import os, re, sys, time

name, bundle, interval, seconds, written = sys.argv[1:6]
with open("bundles/demo/bundle.yaml") as f:
    text = f.read()
tmp, dest = os.path.join(bundle, ".bundle.yaml.tmp"), os.path.join(bundle, "bundle.yaml")
end = time.monotonic() + float(seconds)
i = 0
while time.monotonic() < end:
    i += 1
    with open(tmp, "w") as f:
        f.write(re.sub(r"(?m)^revision: .*", f'revision: "load-{name}-{i}"', text))
    os.replace(tmp, dest)
    time.sleep(float(interval))
with open(written, "w") as f:
    f.write(f"{i}\n")
PY
  RELOADER_PID=$!
}

# reload_run NAME RELOAD(0|1): SERVER_BIN on a fresh copy of the demo bundle
# (`--bundle DIR`, RUST_LOG=info so that activations are logged), loaded
# with RELOAD_MIX; with RELOAD=1 a new revision every RELOAD_INTERVAL.
# Writes OUT/NAME.json, OUT/NAME.log and OUT/NAME.activated (revisions that
# went live, start-up excluded).
reload_run() {
  local name=$1 reload=$2 bin=${SERVER_BIN:?}
  reload_bundle
  SERVER_STDERR=$OUT/$name.log start_server "$RELOAD_PORT" env RUST_LOG=info "$bin" serve \
    --listen "127.0.0.1:$RELOAD_PORT" --admin-listen "127.0.0.1:${ADMIN_PORT:-9464}" --bundle "$RELOAD_BUNDLE" \
    --poll-interval 0
  if [ "$reload" = 1 ]; then reloader "$name"; fi
  MIX=$RELOAD_MIX loadgen "$name" "$RELOAD_PORT"
  if [ -n "$RELOADER_PID" ]; then
    wait "$RELOADER_PID" 2>/dev/null || true
    RELOADER_PID=
  fi
  stop_server
  local activated
  activated=$(grep -c "bundle activated" "$OUT/$name.log" || true)
  echo $((activated - 1)) >"$OUT/$name.activated"  # the first is start-up
}

# reload_pair PREFIX I: the steady run and the reloading one, steady first
# in odd runs and second in even ones: on this shared machine the second of
# two back-to-back loads was often the faster (reloading over steady 1.02 to
# 1.22 with the steady run always first), which would flatter the reload.
reload_pair() {
  local prefix=$1 i=$2
  if [ $((i % 2)) -eq 1 ]; then
    reload_run "$prefix-steady-$i" 0
    reload_run "$prefix-reloading-$i" 1
  else
    reload_run "$prefix-reloading-$i" 1
    reload_run "$prefix-steady-$i" 0
  fi
}
