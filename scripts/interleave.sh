#!/usr/bin/env bash
# Two servers compared in short loads that take turns: both are started
# pinned to the same core and stay up, and the load generator (on the other
# core) loads one for DURATION seconds, then the other, ROUNDS times, the
# order alternating (A B, B A, A B, ...). Each round gives B's throughput
# and p99 over A's from loads seconds apart.
#
# Why: on this shared VM the speed of a core moves by 30% or more from one
# minute to the next (the same server made 23k and 37k calls/s in
# back-to-back loads of a few seconds), so in scripts/bench.sh, where each
# server's loads are 10 s long and a minute apart, the ratio compares the
# machine's moments as much as the servers. Short turns put both servers
# in the same moments, and the median over rounds drops the rounds a
# moment split. It moves within seconds too (the same server's CPU per call
# was 22 to 37 µs in eight 3-second loads), so one round says little: read
# the median and the range, and take more rounds for a closer figure. Only one server is loaded at a time: run at the same time,
# two servers on one core evict each other's caches at every switch, which
# costs the one with the larger working set more (tried: Tollgate's user
# time per call rose 58% beside the floor, the floor's 5%).
#
# Pairs (A / B):
#   defaults   the floor (benches/floor) / `tollgate serve`
#   log        the floor / `serve --decision-log FILE`
#   reload     `serve --bundle DIR` on two copies of the demo; while B is
#              loaded, a new revision of its bundle.yaml every
#              RELOAD_INTERVAL s (as scripts/reload-under-load.sh); none
#              while A is
#   baseline   with BASELINE_BIN: that build / ours, both with defaults
#   baseline-log  with BASELINE_BIN: that build / ours, both with
#              `--decision-log FILE` (each its own file)
#
#   scripts/interleave.sh                   # 12 rounds of 2 s per pair
#   ROUNDS=12 BASELINE_BIN=/tmp/old scripts/interleave.sh
#   PAIRS=reload scripts/interleave.sh
#   PAIRS=baseline-log BASELINE_BIN=/tmp/old scripts/interleave.sh
#
# Writes OUT/PAIR-R-{a,b}.json (tollgate-bench reports) and
# OUT/interleave.json, and prints a Markdown table: each pair's median
# ratios and the rounds' spread.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-12}
DURATION=${DURATION:-2}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-4}
CONCURRENCY=${CONCURRENCY:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PAIRS=${PAIRS:-defaults,log,reload}
RELOAD_INTERVAL=${RELOAD_INTERVAL:-0.11}
RELOAD_MIX=${RELOAD_MIX:-plan_change=1,payment_link=1,charge_funding=1}
BASELINE_BIN=${BASELINE_BIN:-}
OUT=${OUT:-target/interleave}
PORT_A=${PORT_A:-50191}
PORT_B=${PORT_B:-50192}
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

bench_build
SERVER_BIN=${SERVER_BIN:-$TOLLGATE}
if [[ ",$PAIRS," == *,defaults,* || ",$PAIRS," == *,log,* ]]; then floor_bin; fi
if [ -n "$BASELINE_BIN" ] && [[ ",$PAIRS," != *,baseline* ]]; then PAIRS+=",baseline"; fi
rm -rf "$OUT"
mkdir -p "$OUT"

PIDS=()
stop_both() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_reloader; stop_both; bench_cleanup' EXIT

# serve PORT COMMAND...: bench-lib's start_server (COMMAND on SERVER_CPU,
# waiting until PORT accepts connections), stdout dropped and stderr to
# SERVE_LOG when set; the server joins PIDS, which stop_both stops.
serve() {
  SERVER_STDERR=${SERVE_LOG:-/dev/null} start_server "$@" >/dev/null
  PIDS+=("$SERVER_PID")
  SERVER_PID=
}
tollgate() {
  local port=$1 bin=$2 level=warn
  shift 2
  if [ -n "${SERVE_LOG:-}" ]; then level=info; fi
  serve "$port" env RUST_LOG=$level "$bin" serve --listen "127.0.0.1:$port" \
    --admin-listen off --poll-interval 0 "$@"
}

# load NAME PORT PID ARGS...: one load of DURATION seconds.
load() {
  local name=$1 port=$2 pid=$3
  shift 3
  taskset -c "$CLIENT_CPU" "$BENCH" --target "http://127.0.0.1:$port" \
    --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" \
    --duration "$DURATION" --warmup "$WARMUP" --server-pid "$pid" --json "$@" \
    >"$OUT/$name.json"
}

# thread_ticks PID: each thread's id and CPU time so far (utime + stime,
# in clock ticks), one line per thread.
thread_ticks() {
  local stat
  for stat in /proc/"$1"/task/*/stat; do
    awk '{ tid = $1; sub(/^.*\) /, ""); print tid, $12 + $13 }' "$stat" 2>/dev/null || true
  done
}

# The reloading server's revisions are written only while it is loaded.
# Its threads' CPU time is read before and after: the busiest thread is
# the one that answers calls, the others reload (watch, read, compile,
# test), so their share of the server's CPU is what the reloads took from
# the calls (a callgrind run found the calls' own instructions the same with
# and without reloads).
WRITTEN=0
reloading_load() {
  local name=$1 pid=$3
  shift
  # The reloader writes for DURATION + WARMUP + 1 s: as long as the load.
  DURATION=$((DURATION - 1)) reloader "$name"
  thread_ticks "$pid" >"$OUT/$name.ticks-before"
  load "$name" "$@"
  thread_ticks "$pid" >"$OUT/$name.ticks-after"
  wait "$RELOADER_PID" || true
  RELOADER_PID=
  WRITTEN=$((WRITTEN + $(cat "$OUT/$name.written")))
}

for pair in ${PAIRS//,/ }; do
  say "$pair: $ROUNDS rounds of ${DURATION}s loads, taking turns"
  a_args=(--mix plan_change)
  b_args=(--mix plan_change)
  case $pair in
    defaults | log)
      serve "$PORT_A" "$FLOOR" --listen "127.0.0.1:$PORT_A"
      a_args=(--rpc floor --mix plan_change)
      if [ "$pair" = log ]; then
        tollgate "$PORT_B" "$SERVER_BIN" --decision-log "$OUT/decisions.jsonl"
      else
        tollgate "$PORT_B" "$SERVER_BIN"
      fi
      ;;
    baseline)
      tollgate "$PORT_A" "$BASELINE_BIN"
      tollgate "$PORT_B" "$SERVER_BIN"
      ;;
    baseline-log)
      tollgate "$PORT_A" "$BASELINE_BIN" --decision-log "$OUT/decisions-a.jsonl"
      tollgate "$PORT_B" "$SERVER_BIN" --decision-log "$OUT/decisions.jsonl"
      ;;
    reload)
      steady=$BENCH_TMP/steady
      rm -rf "$steady" && mkdir -p "$steady" && cp bundles/demo/*.yaml "$steady"/
      reload_bundle # RELOAD_BUNDLE, which the reloader rewrites
      tollgate "$PORT_A" "$SERVER_BIN" --bundle "$steady"
      # Its log (at info) counts the revisions that went live.
      SERVE_LOG=$OUT/reload.log tollgate "$PORT_B" "$SERVER_BIN" --bundle "$RELOAD_BUNDLE"
      a_args=(--mix "$RELOAD_MIX")
      b_args=(--mix "$RELOAD_MIX")
      ;;
    *) say "unknown pair $pair"; exit 1 ;;
  esac
  for r in $(seq "$ROUNDS"); do
    for side in $( [ $((r % 2)) -eq 1 ] && echo a b || echo b a); do
      if [ "$side" = a ]; then
        load "$pair-$r-a" "$PORT_A" "${PIDS[0]}" "${a_args[@]}"
      elif [ "$pair" = reload ]; then
        reloading_load "$pair-$r-b" "$PORT_B" "${PIDS[1]}" "${b_args[@]}"
      else
        load "$pair-$r-b" "$PORT_B" "${PIDS[1]}" "${b_args[@]}"
      fi
    done
  done
  stop_both
  if [ "$pair" = reload ]; then
    echo "$WRITTEN" >"$OUT/reload.written"
  fi
  rm -f "$OUT/decisions.jsonl" "$OUT/decisions-a.jsonl"
done

python3 - "$OUT" "$ROUNDS" "$PAIRS" <<'PY'
import json, statistics, sys
out, rounds, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
names = {"defaults": ("floor", "defaults"), "log": ("floor", "decision log on"),
         "reload": ("steady", "reloading"), "baseline": ("baseline", "ours"),
         "baseline-log": ("baseline, log on", "ours, log on")}
result, lines = {}, []
lines.append("| A / B | B's throughput over A's: median (rounds' range) | B's p99 over A's: median (range) | server CPU µs per call, A / B (medians) | stolen |")
lines.append("|---|---|---|---|---|")
for pair in pairs:
    tp, p99, a_us, b_us, stolen = [], [], [], [], []
    for r in range(1, rounds + 1):
        a = json.load(open(f"{out}/{pair}-{r}-a.json"))
        b = json.load(open(f"{out}/{pair}-{r}-b.json"))
        if a["errors"] or b["errors"] or not a["ok"] or not b["ok"]:
            sys.exit(f"{pair} round {r}: failed calls ({a['errors']}, {b['errors']})")
        tp.append(b["throughput"] / a["throughput"])
        p99.append(b["latency_us"]["p99"] / a["latency_us"]["p99"])
        a_us.append(a["server_cpu"]["us_per_call"])
        b_us.append(b["server_cpu"]["us_per_call"])
        stolen.append(max((x.get("steal") or {}).get("share") or 0 for x in (a, b)))
    a_name, b_name = names[pair]
    result[pair] = {"a": a_name, "b": b_name, "throughput_ratios": tp, "p99_ratios": p99,
                    "throughput": statistics.median(tp), "p99": statistics.median(p99),
                    "a_us_per_call": a_us, "b_us_per_call": b_us, "stolen": stolen}
    label = f"{a_name} / {b_name}"
    if pair == "reload":
        # The reloads' share of the reloading server's CPU: all threads but
        # the busiest (the one answering calls), over every round.
        def ticks(path):
            return {t: int(n) for t, n in (l.split() for l in open(path) if l.strip())}
        others = total = 0
        for r in range(1, rounds + 1):
            before = ticks(f"{out}/reload-{r}-b.ticks-before")
            after = ticks(f"{out}/reload-{r}-b.ticks-after")
            used = [n - before.get(t, 0) for t, n in after.items()]
            total += sum(used)
            others += sum(used) - max(used, default=0)
        share = others / total if total else None
        result[pair]["reload_cpu_share"] = share
        live = open(f"{out}/reload.log").read().count("bundle activated") - 1
        written = int(open(f"{out}/reload.written").read())
        result[pair]["revisions_live"], result[pair]["revisions_written"] = live, written
        label += (f" (revisions live / written: {live} / {written}; the reloads' threads took "
                  f"{share:.1%} of its CPU)")
    lines.append(
        f"| {label} | **{statistics.median(tp):.3f}** ({min(tp):.3f}–{max(tp):.3f}) "
        f"| **{statistics.median(p99):.3f}** ({min(p99):.3f}–{max(p99):.3f}) "
        f"| {statistics.median(a_us):.1f} / {statistics.median(b_us):.1f} "
        f"| up to {100 * max(stolen):.1f}% |")
json.dump(result, open(f"{out}/interleave.json", "w"), indent=2)
print("\n".join(lines))
PY
