#!/usr/bin/env bash
# The decision-log writer thread's CPU time per line, and the whole
# server's per call, for one or more builds in turn (ROUNDS rounds, the
# order the same each round): each build serves with `--decision-log FILE`
# pinned to SERVER_CPU, takes CALLS plan-change calls from tollgate-bench on
# CLIENT_CPU, and its threads' run times are read from
# /proc/PID/task/*/schedstat (nanoseconds) before and after. The writer's
# time per line bounds how many lines a second one writer thread can take
# before the queue overflows, whatever the number of cores answering calls.
#
#   scripts/log-writer-cpu.sh target/release/tollgate /tmp/old/tollgate
#   ROUNDS=5 CALLS=200000 scripts/log-writer-cpu.sh BIN
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
CALLS=${CALLS:-100000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-50402}
[ "$#" -gt 0 ] || { echo "usage: scripts/log-writer-cpu.sh BIN..." >&2; exit 64; }
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh # start_server, stop_server, BENCH, BENCH_TMP

# times PID: the writer thread's run time and the process's, in ns.
times() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$(cat "$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
  done | awk '$1 == "decision-log" { w += $2 } { all += $2 } END { printf "%.0f %.0f\n", w, all }'
}

load() {
  taskset -c "$CLIENT_CPU" "$BENCH" --target "http://127.0.0.1:$PORT" --mix plan_change \
    --connections 4 --concurrency 64 --requests "$1" --warmup 0
}

echo "| round | build | calls/s | writer µs per line | server µs per call |"
echo "|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    rm -f "$BENCH_TMP/decisions.jsonl"
    SERVER_STDERR=/dev/null start_server "$PORT" "$bin" serve --listen "127.0.0.1:$PORT" \
      --admin-listen off --poll-interval 0 --decision-log "$BENCH_TMP/decisions.jsonl"
    load 5000 >/dev/null # warm-up
    read -r w0 a0 < <(times "$SERVER_PID")
    throughput=$(load "$CALLS" | awk '/^throughput/ { print $2 }')
    read -r w1 a1 < <(times "$SERVER_PID")
    stop_server
    awk -v r="$r" -v b="$bin" -v t="$throughput" -v w=$((w1 - w0)) -v a=$((a1 - a0)) -v n="$CALLS" \
      'BEGIN { printf "| %d | %s | %s | %.2f | %.2f |\n", r, b, t, w / 1e3 / n, a / 1e3 / n }'
  done
done
