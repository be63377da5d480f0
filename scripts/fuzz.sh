#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each and prints the
# executions per target. Stable Rust: `cargo fuzz` with `-s none` (no
# sanitizer, which needs nightly) and `--dev` (a debug build: overflow
# checks and debug assertions on). Needs `cargo install cargo-fuzz --locked`.
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# New inputs go to target/fuzz-corpus/<target>/ (the seeds in
# fuzz/corpus/<target>/ are only read); a crash is written to
# fuzz/artifacts/<target>/ and reported, and the next target still runs.
# Exit status: 0 when no target crashed, 1 otherwise, 64 on a bad command line.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
  exit 64
fi
seconds=$1
shift
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(bundle_archive bundle_dir cel_equivalence request_convert)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
  exit 64
fi

# The fuzz crate builds into the main crate's target directory, on the main
# crate's dependency versions: its lock starts as a copy of Cargo.lock
# (cargo adds the fuzzing crates), so it is not kept in git.
cp Cargo.lock fuzz/Cargo.lock
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
flags=(-s none --dev)
(cd fuzz && cargo fuzz build "${flags[@]}") || exit 1

logs=$CARGO_TARGET_DIR/fuzz-logs
mkdir -p "$logs"
summary=()
failed=0
for t in "${targets[@]}"; do
  work=$CARGO_TARGET_DIR/fuzz-corpus/$t
  mkdir -p "$work"
  echo "== $t: ${seconds}s" >&2
  (cd fuzz && cargo fuzz run "${flags[@]}" "$t" "$work" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=30 -print_final_stats=1) >"$logs/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  if [[ -z $execs ]]; then
    # A crash ends the run before the final stats: the last status line.
    execs=$(grep -o '^#[0-9]*' "$logs/$t.log" | tr -d '#' | tail -1)
  fi
  if [[ $rc -eq 0 ]]; then
    result=ok
  else
    result="CRASH (exit $rc; see $logs/$t.log and fuzz/artifacts/$t/)"
    failed=1
  fi
  summary+=("$(printf '%-16s %6ss %10s execs  %s' "$t" "$seconds" "${execs:-?}" "$result")")
done

printf '%s\n' "${summary[@]}"
exit $failed
