#!/usr/bin/env bash
# Server instructions per bundle reload, under callgrind, whole process
# (watcher, debounce, read, digest, compile, tests, swap, the old bundle's
# drop): `BIN serve --bundle DIR` on a copy of the demo with N new
# revisions of bundle.yaml written 2 s apart (the revision line only, as a
# release that touches one file), minus the same server left alone as long.
# Like scripts/instructions-per-call.sh, the count does not move with the
# machine's load.
#
#   scripts/instructions-per-reload.sh target/release/tollgate
#   N=10 KEEP=/tmp/cg scripts/instructions-per-reload.sh BIN
#
# Under valgrind sha2 cannot use the CPU's SHA extensions (valgrind does not
# offer them), so the digest costs far more here than natively. Needs
# valgrind (Debian: valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/instructions-per-reload.sh BIN}
N=${N:-6}
PORT=${PORT:-50393}
work=$(mktemp -d)
# KEEP=DIR keeps the two callgrind files and the servers' logs.
trap 'if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$work"/*.out "$work"/*.log "$KEEP"/; fi; rm -rf "$work"' EXIT

# run WRITE TAG: the server under callgrind for N times 2 s, writing a
# revision every 2 s when WRITE is 1.
run() {
  local write=$1 tag=$2 dir=$work/bundle-$2
  mkdir -p "$dir"
  cp bundles/demo/*.yaml "$dir"/
  RUST_LOG=info valgrind --tool=callgrind --callgrind-out-file="$work/$tag.out" "$bin" serve \
    --listen "127.0.0.1:$PORT" --admin-listen off --poll-interval 0 --bundle "$dir" \
    >/dev/null 2>"$work/$tag.log" &
  local pid=$!
  for _ in $(seq 240); do
    sleep 0.5
    if (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  done
  sleep 2
  python3 - "$dir" "$N" "$write" <<'PY'
import os, re, sys, time
d, n, write = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
text = open(os.path.join(d, "bundle.yaml")).read()
for i in range(n):
    if write:
        tmp = os.path.join(d, ".bundle.yaml.tmp")
        with open(tmp, "w") as f:
            f.write(re.sub(r"(?m)^revision: .*", f'revision: "counted-{i}"', text))
        os.replace(tmp, os.path.join(d, "bundle.yaml"))
    time.sleep(2)
PY
  kill -TERM "$pid"
  wait "$pid" || true
}
run 0 idle
run 1 reload

python3 - "$work" "$bin" <<'PY'
import re, subprocess, sys
work, bin = sys.argv[1], sys.argv[2]
def activated(tag):
    return open(f"{work}/{tag}.log").read().count("bundle activated")
def totals(tag):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", f"{work}/{tag}.out"],
                         capture_output=True, text=True).stdout
    d = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(\S.*?)(?: \[.*\])?$", line)
        if m and not m.group(2).startswith("=>"):
            k = m.group(2).split(":", 1)[-1]
            d[k] = max(d.get(k, 0), int(m.group(1).replace(",", "")))
    return d
reloads = activated("reload") - activated("idle")
if reloads <= 0:
    sys.exit("no revision went live")
r, i = totals("reload"), totals("idle")
print(f"{bin}: {(r['PROGRAM TOTALS'] - i['PROGRAM TOTALS']) / reloads:,.0f} instructions per reload ({reloads} reloads)")
for name, label in [("tollgate::bundle::BundleFiles::hash", "digest (software SHA-256 under valgrind)"),
                    ("tollgate::bundle::compile::compile", "compile"),
                    ("tollgate::bundle::shared::mark", "of which shared sub-conditions"),
                    ("tollgate::engine::verify::passes_tests", "the bundle's tests")]:
    if name in r:
        print(f"  {label}: {(r[name] - i.get(name, 0)) / reloads:,.0f}")
PY
