#!/usr/bin/env bash
# Reload under load: the same load (all three decision RPCs, 4 connections,
# 64 in flight) against `tollgate serve --bundle DIR`, once with the bundle
# left alone and once with a new revision written every INTERVAL seconds,
# alternating RUNS times. Reports failed calls, how many revisions went
# live, and the throughput with reloads as a ratio of the one without.
# Server pinned to core 0, load to core 1; everything on 127.0.0.1.
#
#   scripts/reload-under-load.sh     # results in target/bench-reload/results.json
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-2}
INTERVAL=${INTERVAL:-0.1}
PORT=${PORT:-50181}
OUT=${OUT:-target/bench-reload}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

say() { printf '%s\n' "$*" >&2; }
say "building (release)"
cargo build --release --quiet   # both binaries: the service and the load generator
BIN=$TARGET_DIR/release/tollgate
BENCH=$TARGET_DIR/release/tollgate-bench
rm -rf "$OUT"
mkdir -p "$OUT"
BUNDLE=$(mktemp -d)
cp bundles/demo/*.yaml "$BUNDLE"/

SERVER_PID=
RELOADER_PID=
cleanup() {
  [ -n "$RELOADER_PID" ] && kill "$RELOADER_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$BUNDLE"
}
trap cleanup EXIT

# run NAME RELOAD(0|1)
run() {
  local name=$1 reload=$2
  taskset -c 0 env RUST_LOG=info "$BIN" serve --listen "127.0.0.1:$PORT" --bundle "$BUNDLE" \
    --poll-interval 0 2>"$OUT/$name.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
  done
  if [ "$reload" = 1 ]; then
    (
      i=0
      end=$((SECONDS + DURATION + WARMUP + 1))
      while [ "$SECONDS" -lt "$end" ]; do
        i=$((i + 1))
        # Written beside and renamed into place, as a deploy would.
        sed "s/^revision: .*/revision: \"load-$name-$i\"/" bundles/demo/bundle.yaml >"$BUNDLE/.bundle.yaml.tmp"
        mv "$BUNDLE/.bundle.yaml.tmp" "$BUNDLE/bundle.yaml"
        sleep "$INTERVAL"
      done
      echo "$i" >"$OUT/$name.written"
    ) &
    RELOADER_PID=$!
  fi
  taskset -c 1 "$BENCH" --target "http://127.0.0.1:$PORT" \
    --mix plan_change=1,payment_link=1,charge_funding=1 --connections 4 --concurrency 64 \
    --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" --json >"$OUT/$name.json"
  if [ -n "$RELOADER_PID" ]; then
    wait "$RELOADER_PID" 2>/dev/null || true
    RELOADER_PID=
  fi
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  grep -c "bundle activated" "$OUT/$name.log" >"$OUT/$name.activated" || true
}

for r in $(seq "$RUNS"); do
  say "run $r/$RUNS: steady"
  run "steady-$r" 0
  say "run $r/$RUNS: reloading every ${INTERVAL}s"
  run "reloading-$r" 1
done

field() { grep -o "\"$2\":[^,}]*" "$1" | head -1 | cut -d: -f2; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
steady=$(for f in "$OUT"/steady-*.json; do field "$f" throughput; done | median)
reloading=$(for f in "$OUT"/reloading-*.json; do field "$f" throughput; done | median)
failed=$(for f in "$OUT"/*-[0-9]*.json; do echo "$(field "$f" requests) $(field "$f" ok)"; done | awk '{ s += $1 - $2 } END { print s + 0 }')
activated=$(for f in "$OUT"/reloading-*.activated; do cat "$f"; done | median)
written=$(for f in "$OUT"/reloading-*.written; do cat "$f"; done | median)
ratio=$(awk -v a="$reloading" -v b="$steady" 'BEGIN { printf "%.3f", a / b }')
cat >"$OUT/results.json" <<JSON
{
  "runs": $RUNS, "duration_secs": $DURATION, "reload_interval_secs": $INTERVAL,
  "steady_throughput": $steady, "reloading_throughput": $reloading,
  "reloading_over_steady": $ratio,
  "revisions_written_per_run": $written, "bundles_activated_per_run": $activated,
  "failed_calls_all_runs": $failed
}
JSON
cat "$OUT/results.json"
