#!/usr/bin/env bash
# Reload under load: the same load (all three decision RPCs, 4 connections,
# 64 in flight) against `tollgate serve --bundle DIR`, once with the bundle
# left alone and once with a new revision written every RELOAD_INTERVAL
# seconds, alternating RUNS times. Reports failed calls, how many revisions
# went live, and the throughput with reloads as a ratio of the one without.
# Server pinned to core 0, load to core 1; everything on 127.0.0.1.
# `RELOAD=1 scripts/bench.sh` (or FULL=1) runs the same pair in each of its
# runs, beside the floor and the other figures; the code is shared
# (scripts/bench-lib.sh).
#
#   scripts/reload-under-load.sh     # results in target/bench-reload/results.json
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-4}
CONCURRENCY=${CONCURRENCY:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
# 0.11 s, not the target's 0.1: the server reads a bundle after 100 ms
# without a change (src/debounce.rs), so revisions written exactly 0.1 s
# apart never leave it quiet that long and go live together, one every
# 300 ms (its longest wait). 0.11 s puts each revision live, about nine a
# second (the old shell writer's own `sed` and `mv` spaced them ~0.12 s).
RELOAD_INTERVAL=${RELOAD_INTERVAL:-${INTERVAL:-0.11}}
RELOAD_PORT=${RELOAD_PORT:-${PORT:-50181}}
RELOAD_MIX=${RELOAD_MIX:-plan_change=1,payment_link=1,charge_funding=1}
ADMIN_PORT=${ADMIN_PORT:-9464}
OUT=${OUT:-target/bench-reload}
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

bench_build
SERVER_BIN=${SERVER_BIN:-$TOLLGATE}
rm -rf "$OUT"
mkdir -p "$OUT"
for r in $(seq "$RUNS"); do
  say "run $r/$RUNS: steady and reloading every ${RELOAD_INTERVAL}s (steady first in odd runs)"
  reload_pair reload "$r"
done
python3 scripts/bench_results.py reload "$OUT" reload >"$OUT/results.json"
cat "$OUT/results.json"
