#!/usr/bin/env bash
# A soak (issue 14 §9): a release `tollgate serve` over TLS with a decision
# log and its admin port, under a moderate, fixed mixed decision load, while
# its bundle directory is switched every few seconds between good bundles
# (two revisions of the demo) and broken ones (a CEL syntax error, a failing
# bundle test, a half-written file), and its metrics are scraped every few
# seconds. Every minute it prints calls, failed calls by status code, VmRSS,
# open descriptors, decision-log lines, reloads that succeeded and failed,
# and the active revision; at the end, a verdict.
#
#   scripts/soak.sh MINUTES          # results in target/soak/
#
# The load: `tollgate-bench`, CONNECTIONS connections x CONCURRENCY calls in
# flight, paced to RATE calls/s in total (`--rate`), all three decision RPCs;
# one run per minute (so each minute opens new TLS connections). The bundle
# path is a `current` symlink switched by rename (as a release directory or
# a ConfigMap is); the half-written state is a directory whose
# `plan_change.yaml` holds the first half of the file when the symlink
# switches to it and is completed, in place, SWAP seconds later. The
# decision log is renamed and reopened (SIGUSR1) every minute; every line of
# it must parse as JSON, and the lines must add up to the calls answered.
#
# Exit 0 only when: no call failed; every scrape showed a bundle whose
# revision and digest are one of the two good bundles' (never a broken one);
# reloads both succeeded and failed (parse, compile and test failures each
# seen); every decision was logged (lines = calls answered, none dropped,
# every line JSON); the server ran to the end; and after minute SETTLE,
# VmRSS stayed within RSS_TOLERANCE_KB and open descriptors within
# FD_TOLERANCE (max - min over those minutes). 1 otherwise, 64 on a bad
# command line.
#
# Settings (environment): RATE=2000 CONNECTIONS=2 CONCURRENCY=8 SWAP=3
# SCRAPE=5 SETTLE=3 RSS_TOLERANCE_KB=4096 FD_TOLERANCE=4 PORT=50191
# ADMIN_PORT=9491 MINUTE=60 (seconds in a "minute", shorter to try the
# script) OUT=target/soak; SERVER_BIN and BENCH_BIN to use built binaries
# instead of `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 1 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/soak.sh MINUTES" >&2
  exit 64
fi
MINUTES=$1
RATE=${RATE:-2000}
CONNECTIONS=${CONNECTIONS:-2}
CONCURRENCY=${CONCURRENCY:-8}
SWAP=${SWAP:-3}
SCRAPE=${SCRAPE:-5}
SETTLE=${SETTLE:-3}
RSS_TOLERANCE_KB=${RSS_TOLERANCE_KB:-4096}
FD_TOLERANCE=${FD_TOLERANCE:-4}
PORT=${PORT:-50191}
ADMIN_PORT=${ADMIN_PORT:-9491}
MINUTE=${MINUTE:-60}
OUT=${OUT:-target/soak}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

say() { printf '%s\n' "$*" >&2; }
for tool in openssl curl python3; do
  command -v "$tool" >/dev/null || { say "soak: $tool is not installed"; exit 64; }
done
if [[ -z ${SERVER_BIN:-} || -z ${BENCH_BIN:-} ]]; then
  say "building (release)"
  cargo build --release --quiet --bin tollgate --bin tollgate-bench
fi
BIN=${SERVER_BIN:-$TARGET_DIR/release/tollgate}
BENCH=${BENCH_BIN:-$TARGET_DIR/release/tollgate-bench}

rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)

SERVER_PID=
LOAD_PID=
BACKGROUND=()
cleanup() {
  for p in "${BACKGROUND[@]}" $LOAD_PID; do kill "$p" 2>/dev/null || true; done
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- A throwaway CA and a server certificate for 127.0.0.1 -----------------
(
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=tollgate soak CA" -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.crt 2>/dev/null
)

# --- The bundle states -------------------------------------------------------
STATES=$WORK/states
mkdir -p "$STATES" "$WORK/live"
state() { # NAME REVISION: a copy of the demo under its own revision
  mkdir -p "$STATES/$1"
  cp bundles/demo/*.yaml "$STATES/$1/"
  sed -i "s/^revision: .*/revision: \"$2\"/" "$STATES/$1/bundle.yaml"
}
state good-a soak-a
state good-b soak-b
sed -i 's/^description: >-$/description: >-\n  (soak revision b)/' "$STATES/good-b/bundle.yaml"
state broken-cel soak-broken-cel
sed -i '0,/^    when: .*/s//    when: "request.usage.users >"/' "$STATES/broken-cel/plan_change.yaml"
state broken-test soak-broken-test
sed -i '0,/want: { verdict: DENY, reasons: \[SAME_PLAN\] }/s//want: { verdict: ALLOW, timing: IMMEDIATE, reasons: [SAME_PLAN] }/' \
  "$STATES/broken-test/plan_change_tests.yaml"
cmp -s "$STATES/broken-cel/plan_change.yaml" bundles/demo/plan_change.yaml && { say "soak: the CEL error was not written"; exit 1; }
cmp -s "$STATES/broken-test/plan_change_tests.yaml" bundles/demo/plan_change_tests.yaml && { say "soak: the failing test was not written"; exit 1; }

# The good bundles' digests, as the server computes them (sha256 over every
# YAML file in name order: name, NUL, length as u64 LE, content).
digest() {
  python3 - "$1" <<'PY'
import hashlib, os, struct, sys
d = sys.argv[1]
h = hashlib.sha256()
for name in sorted(n for n in os.listdir(d) if n.endswith((".yaml", ".yml"))):
    data = open(os.path.join(d, name), "rb").read()
    h.update(name.encode() + b"\0" + struct.pack("<Q", len(data)) + data)
print(h.hexdigest())
PY
}
GOOD="soak-a $(digest "$STATES/good-a") soak-b $(digest "$STATES/good-b")"
echo "$GOOD" >"$OUT/good-digests"

# Switch `current` to a directory by rename, atomically.
point() {
  ln -sfn "$1" "$WORK/live/.current.tmp"
  mv -T "$WORK/live/.current.tmp" "$WORK/live/current"
  printf '%s %s\n' "$(date +%s)" "$(basename "$1")" >>"$OUT/swaps.log"
}
: >"$OUT/violations.log"
point "$STATES/good-a"

# --- The server ----------------------------------------------------------------
LOG=$OUT/decisions.log
RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" \
  --bundle "$WORK/live/current" --poll-interval 0 \
  --tls-cert "$WORK/server.crt" --tls-key "$WORK/server.key" \
  --decision-log "$LOG" 2>"$OUT/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null || { say "soak: the server did not become ready"; cat "$OUT/server.log" >&2; exit 1; }

# --- The bundle swapper: good, broken, good, broken, ... ----------------------
(
  i=0
  while :; do
    i=$((i + 1))
    case $((i % 6)) in
      1) point "$STATES/good-b" ;;
      2) point "$STATES/broken-cel" ;;
      3) point "$STATES/good-a" ;;
      4) point "$STATES/broken-test" ;;
      5) # A good-b written in place, its rules file half-way when it is switched to.
        half=$STATES/half-$i
        mkdir "$half"
        cp "$STATES/good-b"/*.yaml "$half/"
        size=$(stat -c %s "$STATES/good-b/plan_change.yaml")
        head -c $((size / 2)) "$STATES/good-b/plan_change.yaml" >"$half/plan_change.yaml"
        point "$half"
        sleep "$SWAP"
        tail -c +$((size / 2 + 1)) "$STATES/good-b/plan_change.yaml" >>"$half/plan_change.yaml"
        ;;
      0) point "$STATES/good-a" ;;
    esac
    sleep "$SWAP"
    # Half-written states two rounds old are no longer pointed at.
    find "$STATES" -maxdepth 1 -name 'half-*' ! -name "half-$i" -mmin +1 -exec rm -rf {} + 2>/dev/null || true
  done
) &
BACKGROUND+=($!)

# --- The scraper: the active bundle, every SCRAPE seconds ----------------------
# scrape.prom is its last scrape (the minute loop scrapes into a file of
# its own, metrics.prom); active.log has one line per scrape; a scrape whose
# bundle is not one of the good ones goes to violations.log.
(
  while :; do
    if curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" >"$OUT/scrape.prom" 2>/dev/null; then
      active=$(python3 - "$OUT/scrape.prom" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    if line.startswith("tollgate_bundle_info{"):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
        print(labels.get("revision", "?"), labels.get("digest", "?"))
        break
else:
    print("none none")
PY
)
      printf '%s %s\n' "$(date +%s)" "$active" >>"$OUT/active.log"
      read -r rev dig <<<"$active"
      case " $GOOD " in
        *" $rev $dig "*) ;;
        *) printf '%s %s\n' "$(date +%s)" "$active" >>"$OUT/violations.log" ;;
      esac
    else
      printf '%s scrape failed\n' "$(date +%s)" >>"$OUT/violations.log"
    fi
    sleep "$SCRAPE"
  done
) &
BACKGROUND+=($!)

# --- Every minute ------------------------------------------------------------------
metric() { # NAME [LABEL="VALUE]: the sum of its samples in the last scrape (with that label)
  awk -v name="$1" -v label="${2:-}" '
    ($1 == name || index($1, name "{") == 1) && (label == "" || index($1, label "\"")) { v += $2 }
    END { printf "%d\n", v }' "$OUT/metrics.prom"
}
loglines() { # FILE: "LINES BAD" (lines that are not one JSON object each)
  python3 - "$1" <<'PY'
import json, sys
n = bad = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        n += 1
        try:
            if not line.endswith(b"\n") or not isinstance(json.loads(line), dict):
                bad += 1
        except ValueError:
            bad += 1
print(n, bad)
PY
}

printf '%-6s %9s %7s %-16s %8s %7s %5s %9s %5s %6s %-22s %s\n' \
  minute calls calls/s errors p99_us rss_kB fds log_lines bad reload_ok reload_failed active \
  | tee "$OUT/minutes.txt"
total_ok=0
total_failed=0
total_lines=0
total_bad=0
load() { # MINUTE: one minute of load in the background
  "$BENCH" --target "https://127.0.0.1:$PORT" --tls-ca "$WORK/ca.crt" \
    --connections "$CONNECTIONS" --concurrency "$CONCURRENCY" --rate "$RATE" \
    --mix plan_change=2,payment_link=1,charge_funding=1 \
    --duration "$MINUTE" --warmup 0 --server-pid "$SERVER_PID" --json \
    >"$OUT/minute-$1.json" 2>"$OUT/minute-$1.err" &
  LOAD_PID=$!
}
# The next minute's load starts as soon as one ends, so the sampling and
# the log check below run under load and the load never pauses; the log
# file renamed after minute M therefore also holds the first moments of
# minute M+1 (the totals must agree, not each minute).
load 1
for m in $(seq "$MINUTES"); do
  wait "$LOAD_PID" || true
  LOAD_PID=
  [[ $m -lt $MINUTES ]] && load $((m + 1))
  kill -0 "$SERVER_PID" 2>/dev/null || { say "soak: the server exited"; break; }
  # The minute's decision log: renamed, reopened, then read whole.
  mv "$LOG" "$OUT/decisions-$m.log" 2>/dev/null || : >"$OUT/decisions-$m.log"
  kill -USR1 "$SERVER_PID"
  sleep 1
  read -r lines bad <<<"$(loglines "$OUT/decisions-$m.log")"
  rm -f "$OUT/decisions-$m.log"
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" >"$OUT/metrics.prom" || : >"$OUT/metrics.prom"
  read -r ok calls_s p99 errors <<<"$(python3 - "$OUT/minute-$m.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print(0, 0, 0, "no-report")
    sys.exit()
errors = ",".join(f"{k}:{v}" for k, v in sorted(r["errors"].items())) or "0"
print(r["ok"], round(r["throughput"]), r["latency_us"]["p99"], errors)
PY
)"
  failed=$(python3 -c 'import json,sys
try: print(sum(json.load(open(sys.argv[1]))["errors"].values()))
except Exception: print(1)' "$OUT/minute-$m.json")
  attempts=$(metric tollgate_bundle_reloads_total)
  failures=$(metric tollgate_bundle_reload_failures_total)
  kinds=$(awk '/^tollgate_bundle_reload_failures_total\{/ { match($1, /kind="[a-z]*"/); k = substr($1, RSTART + 6, RLENGTH - 7); if ($2 > 0) { printf "%s%s:%d", sep, k, $2; sep = "," } } END { if (sep == "") printf "0" }' "$OUT/metrics.prom")
  active=$(tail -1 "$OUT/active.log" | awk '{ print $2 }')
  printf '%-6s %9s %7s %-16s %8s %7s %5s %9s %5s %6s %-22s %s\n' \
    "$m" "$ok" "$calls_s" "$errors" "$p99" "$rss" "$fds" "$lines" "$bad" \
    "$((${attempts%.*} - ${failures%.*}))" "$kinds" "$active" | tee -a "$OUT/minutes.txt"
  echo "$m $rss $fds" >>"$OUT/samples"
  total_ok=$((total_ok + ok))
  total_failed=$((total_failed + failed))
  total_lines=$((total_lines + lines))
  total_bad=$((total_bad + bad))
done

# --- The verdict ---------------------------------------------------------------------
verdict=PASS
fail() { say "FAIL: $*"; verdict=FAIL; }
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited (see $OUT/server.log)"
[[ $(wc -l <"$OUT/samples") -eq $MINUTES ]] || fail "only $(wc -l <"$OUT/samples") of $MINUTES minutes ran"
[[ $total_failed -eq 0 ]] || fail "$total_failed calls failed"
[[ $total_ok -gt 0 ]] || fail "no call succeeded"
if [[ -s $OUT/violations.log ]]; then
  fail "$(wc -l <"$OUT/violations.log") scrapes showed no good bundle active (first: $(head -1 "$OUT/violations.log"))"
fi
dropped=$(metric tollgate_decision_log_events_total 'result="dropped')
logfailed=$(metric tollgate_decision_log_events_total 'result="failed')
[[ $total_lines -eq $total_ok ]] || fail "decision-log lines $total_lines != calls answered $total_ok"
[[ ${dropped%.*} -eq 0 && ${logfailed%.*} -eq 0 ]] || fail "decision-log events dropped $dropped, failed $logfailed"
[[ $total_bad -eq 0 ]] || fail "$total_bad decision-log lines are not whole JSON objects"
attempts=$(metric tollgate_bundle_reloads_total)
failures=$(metric tollgate_bundle_reload_failures_total)
[[ $((${attempts%.*} - ${failures%.*})) -gt 1 ]] || fail "no reload succeeded after start-up"
for kind in parse compile test; do
  n=$(metric tollgate_bundle_reload_failures_total "kind=\"$kind")
  [[ ${n%.*} -gt 0 ]] || fail "no $kind failure was seen: the broken bundles were not tried"
done
flat=$(awk -v settle="$SETTLE" -v rtol="$RSS_TOLERANCE_KB" -v ftol="$FD_TOLERANCE" '
  $1 > settle {
    n++
    if (n == 1 || $2 < rmin) rmin = $2; if (n == 1 || $2 > rmax) rmax = $2
    if (n == 1 || $3 < fmin) fmin = $3; if (n == 1 || $3 > fmax) fmax = $3
  }
  END {
    if (n == 0) { print "none after minute " settle; exit }
    ok = (rmax - rmin <= rtol && fmax - fmin <= ftol) ? "flat" : "NOT flat"
    printf "%s: over minutes %d-%d VmRSS %d-%d kB (range %d kB, tolerance %d), descriptors %d-%d (range %d, tolerance %d)\n",
      ok, settle + 1, settle + n, rmin, rmax, rmax - rmin, rtol, fmin, fmax, fmax - fmin, ftol
  }' "$OUT/samples")
case $flat in
  flat:*) ;;
  none*) say "no minute after minute $SETTLE: flatness not judged" ;;
  *) fail "$flat" ;;
esac
swaps=$(wc -l <"$OUT/swaps.log")
scrapes=$(wc -l <"$OUT/active.log")
summary="verdict: $verdict: $MINUTES min, $total_ok calls, $total_failed failed, $total_lines log lines ($total_bad bad, $dropped dropped); $swaps bundle switches, reloads ${attempts%.*} (failed ${failures%.*}); $scrapes scrapes, $(wc -l <"$OUT/violations.log") without a good bundle; $flat"
echo "$summary" | tee "$OUT/verdict.txt"
[[ $verdict == PASS ]]
