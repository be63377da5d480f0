#!/usr/bin/env bash
# Server instructions per decision, under callgrind: unlike CPU time, the
# count does not move with the machine's load, so two builds can be compared
# on a busy machine. The server runs under `valgrind --tool=callgrind` twice:
# once driven by `tollgate-bench` for CALLS calls of MIX, once started and
# stopped with no call; the difference over CALLS is the cost of a call
# (decode, policy, encode, h2, tokio), without startup and bundle compile.
# Also printed: the same difference for a few functions on the request path
# (inclusive), when present in the build.
#
#   scripts/instructions-per-call.sh target/release/tollgate
#   CALLS=3000 MIX=payment_link scripts/instructions-per-call.sh BIN --bundle DIR
#   scripts/instructions-per-call.sh BIN --decision-log /tmp/x.jsonl
#   RPC=floor scripts/instructions-per-call.sh FLOOR_BIN   # the floor's echo
#
# With RPC=floor, BIN is the floor (benches/floor; bench-lib.sh's floor_bin
# finds it) and answers echoes the size of MIX's requests and decisions:
# what gRPC alone costs a call, to set Tollgate's count against.
# Arguments after BIN go to `BIN serve`. Needs valgrind (Debian: valgrind)
# and a release tollgate-bench (BENCH, default target/release/tollgate-bench).
set -euo pipefail
bin=${1:?usage: scripts/instructions-per-call.sh BIN [serve args...]}
shift
CALLS=${CALLS:-1500}
MIX=${MIX:-plan_change}
RPC=${RPC:-decision}
BENCH=${BENCH:-target/release/tollgate-bench}
PORT=${PORT:-50391}
work=$(mktemp -d)
# JSON=FILE also writes the count per call there, as JSON.
# KEEP=DIR keeps the two callgrind files (DIR/loaded.out, DIR/idle.out) for
# callgrind_annotate.
trap 'if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$work"/*.out "$KEEP"/; fi; rm -rf "$work"' EXIT

# run N OUT: the server under callgrind, N calls, then SIGTERM (the server
# drains and exits, and callgrind writes OUT).
run() {
  local calls=$1 out=$2
  shift 2
  local args=(serve --listen "127.0.0.1:$PORT" --admin-listen off --poll-interval 0)
  if [ "$RPC" = floor ]; then args=(--listen "127.0.0.1:$PORT"); fi
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "${args[@]}" "$@" \
    >"$work/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 240); do
    sleep 0.5
    if (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  done
  if [ "$calls" -gt 0 ]; then
    "$BENCH" --target "http://127.0.0.1:$PORT" --mix "$MIX" --rpc "$RPC" --connections 2 \
      --concurrency 4 --requests "$calls" --warmup 0 >"$work/bench.txt"
    grep -q "^calls *$calls ok, 0 failed" "$work/bench.txt" || {
      cat "$work/bench.txt" >&2
      echo "not every call succeeded" >&2
      kill "$pid"
      exit 1
    }
  fi
  kill -TERM "$pid"
  wait "$pid" || true
}
extra=("$@")
run 0 "$work/idle.out" "${extra[@]}"
run "$CALLS" "$work/loaded.out" "${extra[@]}"

python3 - "$work/loaded.out" "$work/idle.out" "$CALLS" "$bin" "$MIX" "$RPC" <<'PY'
import collections, json, os, re, subprocess, sys
loaded, idle, calls, bin_, mix, rpc = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]

def costs(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--auto=no",
                          "--threshold=100", path], capture_output=True, text=True).stdout
    total, funcs = None, collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in line:
            total = n
        elif m.group(2).endswith("]"):
            # A function's own entry ("file:function [object]"); the lines
            # without an object are the same cost by inlined source file.
            funcs[re.sub(r" \[[^]]*\]$", "", m.group(2)).split(":", 1)[-1]] += n
    return total, funcs

(lt, lf), (it, idf) = costs(loaded), costs(idle)
per_call = (lt - it) / calls
what = f"{mix}, the floor's echo" if rpc == "floor" else mix
print(f"{bin_} ({what}, {calls} calls): {per_call:,.0f} instructions per call")
if os.environ.get("JSON"):
    json.dump({"bin": bin_, "mix": mix, "rpc": rpc, "calls": calls,
               "instructions_per_call": round(per_call)}, open(os.environ["JSON"], "w"))
watch = [
    ("decode the request", "prost::message::Message::decode"),
    ("the handler (convert, decide, reply)", "DecisionService>::decide_plan_change::{{closure}}"),
    ("the engine", "decide_plan_change_observed"),
    ("the decision-log writer", "tollgate::decision_log::sink::Writer::run"),
]
for label, name in watch:
    hits = [(k, v) for k, v in lf.items() if k.endswith(name)]
    if hits:
        k, v = max(hits, key=lambda kv: kv[1])
        print(f"  {label}: {(v - idf.get(k, 0)) / calls:,.0f}")
PY
