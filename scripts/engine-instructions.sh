#!/usr/bin/env bash
# Instructions per decision for every demo case of the engine bench, counted
# by callgrind: unlike the bench's times, the counts do not move with the
# machine's load or speed, so builds (and machines) compare by them.
#
#   scripts/engine-instructions.sh                 # builds the engine bench
#   scripts/engine-instructions.sh BIN [BIN2]      # bench binaries, compared
#   LIMIT=10000 JSON=out.json scripts/engine-instructions.sh BIN
#
# BIN is an `engine` bench binary (`cargo bench --no-run --bench engine`
# prints its path). Each case runs under `valgrind --tool=callgrind` for
# criterion's `--profile-time 1`; only the instructions inside the
# `decide_*_observed` functions are collected, and a case's count is their
# total over the calls into them. Prints per case and per decision type the
# count, how many cases are within LIMIT (default 10,000: about what took
# 1 µs on session 6's machine, BENCHMARKS.md "End of session 7"), and with
# two binaries the ratio of the second to the first.
# Takes about 3 minutes a binary. Needs valgrind (Debian: valgrind).
set -euo pipefail
LIMIT=${LIMIT:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  bin=$(cargo bench --no-run --bench engine 2>&1 |
    sed -n 's/.*Executable benches\/engine.rs (\(.*\)).*/\1/p')
  [ -x "$bin" ] || { echo "engine-instructions: no engine bench binary built" >&2; exit 1; }
  bins=("$bin")
fi

i=0
for bin in "${bins[@]}"; do
  i=$((i + 1))
  valgrind --tool=callgrind --callgrind-out-file="$work/run$i.out" \
    --dump-before='criterion::routine::Routine::profile*' \
    --toggle-collect='tollgate::engine::types::*decide_*_observed*' \
    "$bin" --bench --profile-time 1 '/native/' >"$work/run$i.log" 2>&1 || {
    tail -20 "$work/run$i.log" >&2
    echo "engine-instructions: $bin failed under callgrind" >&2
    exit 1
  }
done

python3 - "$work" "$LIMIT" "${JSON:-}" "${bins[@]}" <<'PY'
import json, os, re, statistics, sys

work, limit, json_out, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]


def counts(run):
    """Instructions per decision, by case, for one callgrind run.

    criterion profiles the cases in order; `--dump-before` writes a part
    as each case's profile starts, so part N+2 holds case N (part 1 is the
    set-up), and the last case is in the final dump (no suffix)."""
    cases = []
    for line in open(f"{work}/run{run}.log", errors="replace"):
        m = re.search(r"Benchmarking (\S+/native/.+?): Profiling", line)
        if m and (not cases or cases[-1] != m.group(1)):
            cases.append(m.group(1))
    out = {}
    for i, case in enumerate(cases):
        path = f"{work}/run{run}.out.{i + 2}"
        if not os.path.exists(path):
            path = f"{work}/run{run}.out"
        total, calls, names, callee = 0, 0, {}, None
        for line in open(path, errors="replace"):
            if line.startswith("totals:"):
                total = int(line.split()[1])
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                callee = names.get(m.group(1), "") if line.startswith("cfn") else None
                continue
            if line.startswith("calls=") and callee is not None:
                if re.search(r"decide_\w+_observed$", callee):
                    calls += int(line.split("=")[1].split()[0])
                callee = None
        if calls:
            out[case] = round(total / calls)
    return out


runs = [counts(r + 1) for r in range(len(bins))]
groups = ["plan_change", "payment_link", "charge_funding"]
print(f"instructions per decision (callgrind), cases within {limit:,}:")
for r, (bin_, c) in enumerate(zip(bins, runs)):
    print(f"  {bin_}: {len(c)} cases, median {statistics.median(c.values()):,.0f}, "
          f"largest {max(c.values()):,}, within {limit:,}: {sum(v <= limit for v in c.values())}")
    for g in groups:
        v = [n for k, n in c.items() if k.startswith(g + "/")]
        if v:
            print(f"    {g:15} {len(v):3} cases, median {statistics.median(v):7,.0f}, "
                  f"largest {max(v):7,}, within {limit:,}: {sum(n <= limit for n in v)}")
if len(runs) == 2:
    a, b = runs
    both = sorted(set(a) & set(b), key=lambda k: b[k] / a[k])
    print(f"second / first, {len(both)} cases: median "
          f"{statistics.median(b[k] / a[k] for k in both):.3f}")
    for k in both:
        print(f"  {b[k] / a[k]:.3f} {a[k]:7,} {b[k]:7,}  {k}")
else:
    for k, v in sorted(runs[0].items(), key=lambda kv: -kv[1]):
        print(f"  {v:7,}  {k}")
if json_out:
    json.dump({"limit": limit, "runs": [{"bin": b, "cases": c} for b, c in zip(bins, runs)]},
              open(json_out, "w"), indent=1)
PY
