#!/usr/bin/env bash
# Idle RSS of `tollgate serve` (embedded demo bundle, default flags but the
# ports): ROUNDS starts of each BINARY given, interleaved so that every
# binary meets the same load on the machine; each round waits SETTLE seconds
# after start, then reads /proc/PID/status and /proc/PID/smaps. Prints one
# line per start and the medians per binary: VmRSS, RssAnon, RssFile, and
# the resident pages of the binary itself, of the anonymous mappings (heap
# and allocator arenas) and of the thread stacks ([stack] and the guard-page
# bounded anonymous mappings of the other threads are not told apart by the
# kernel: "anon" includes them), plus the thread count.
#
#   scripts/idle-rss.sh [BINARY...]       # default: target/release/tollgate
#   ROUNDS=7 SETTLE=3 scripts/idle-rss.sh /tmp/tollgate-before target/release/tollgate
#
# A BINARY may be a script that exec's the binary (to set its environment,
# e.g. `exec env MIMALLOC_ALLOW_THP=0 target/release/tollgate "$@"`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
SETTLE=${SETTLE:-3}
PORT=${PORT:-50199}
ADMIN_PORT=${ADMIN_PORT:-9499}
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("${CARGO_TARGET_DIR:-target}/release/tollgate")
out=$(mktemp)
trap 'rm -f "$out"' EXIT

sample() { # BIN PID
  python3 - "$1" "$2" <<'PY'
import os, sys
pid = sys.argv[2]
binary = os.path.realpath(f"/proc/{pid}/exe")  # a wrapper script exec's it
status = {}
for line in open(f"/proc/{pid}/status"):
    k, _, v = line.partition(":")
    status[k] = v.split()[0] if v.split() else ""
own = anon = other = 0
name = None
for line in open(f"/proc/{pid}/smaps"):
    parts = line.split()
    if not parts[0].endswith(":"):   # a mapping's header line
        name = parts[5] if len(parts) > 5 else ""
    elif parts[0] == "Rss:":
        kb = int(parts[1])
        if name and os.path.realpath(name) == binary:
            own += kb
        elif name in ("", "[heap]", "[stack]"):
            anon += kb
        else:
            other += kb
print(status["VmRSS"], status["RssAnon"], status["RssFile"], own, anon, other, status["Threads"])
PY
}

for r in $(seq "$ROUNDS"); do
  for bin in "${bins[@]}"; do
    RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" \
      >/dev/null 2>&1 &
    pid=$!
    sleep "$SETTLE"
    echo "$bin $(sample "$bin" "$pid")" | tee -a "$out"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done

echo "medians (kB): VmRSS RssAnon RssFile binary anon other threads"
for bin in "${bins[@]}"; do
  awk -v bin="$bin" '$1 == bin' "$out" | python3 -c '
import statistics, sys
rows = [list(map(int, l.split()[1:])) for l in sys.stdin]
print(sys.argv[1], *[int(statistics.median(c)) for c in zip(*rows)])' "$bin"
done
