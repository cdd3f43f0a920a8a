#!/usr/bin/env bash
# End-to-end benchmark: the release binary against the bundled mock on 127.0.0.1.
#
#   bash benches/e2e.sh            # 100k, 1M and 10M IDs (needs ~1 GB of /tmp, ~3 minutes)
#   SIZES="100000 1000000" bash benches/e2e.sh
#   (then the verify benchmark, benches/verify.sh; VERIFY_SIZES sets its sizes)
#   SIZES=1000000 CURL_SIZES= REPEAT=3 bash benches/e2e.sh   # the journal/report rows, ~1 minute
#
# Reports, per input size and with/without de-duplication: wall time, requests/s,
# IDs/s and peak RSS (GNU time); then the same job done the obvious other way
# (split into chunks of 1000 and one curl per chunk, in a shell loop); then a
# rate-limited run (10 requests per 2-second window, 50,000 IDs): time against the
# theoretical ceiling and the 429s met; then how soon the first request leaves for
# a 10M-line input.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"100000 1000000 10000000"}
CURL_SIZES=${CURL_SIZES-"100000 1000000"}  # empty: skip the curl comparison
work=$(mktemp -d /tmp/tagctl-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building release binaries..." >&2
cargo build --release --quiet --bin tagctl --bin tagctl-mock
bin=target/release
now_ms() { date +%s%3N; }

start_mock() { # VAR args... : starts a mock, sets VAR to its URL
  local var=$1 out="$work/mock.$RANDOM"
  shift
  "$bin/tagctl-mock" --quiet "$@" >"$out" 2>/dev/null &
  pids+=("$!")
  for _ in $(seq 100); do
    if grep -q listening "$out" 2>/dev/null; then break; fi
    sleep 0.05
  done
  printf -v "$var" '%s' "$(sed -n 's/.*listening on //p' "$out")"
}

json() { python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }

if [ -x /usr/bin/time ]; then
  timed() { /usr/bin/time -f "%e %M" -o "$work/time" "$@"; }
else
  # No GNU time: getrusage through Python.
  timed() {
    python3 - "$work/time" "$@" <<'PY'
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic(); subprocess.run(cmd, check=False); wall = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open(out, "w").write(f"{wall:.2f} {rss}\n")
PY
  }
fi

start_mock url --no-record
echo "mock (unlimited, not recording) at $url" >&2
export REBILLY_API_KEY=bench-key

echo
echo "| IDs | input | dedupe | wall | requests | requests/s | IDs/s | peak RSS |"
echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"
for n in $SIZES; do
  csv="$work/ids-$n.csv"
  awk -v n="$n" 'BEGIN { print "customerId,email"; for (i = 0; i < n; i++) printf "cus_%012d,user%d@example.com\n", i, i }' >"$csv"
  for dedupe in yes no; do
    flag=(); [ "$dedupe" = no ] && flag=(--no-dedupe)
    timed "$bin/tagctl" --api-url "$url" tag BENCH -f "$csv" --output json --quiet "${flag[@]}" >"$work/out.json" || true
    read -r wall rss <"$work/time"
    req=$(json "$work/out.json" "['requests']")
    conf=$(json "$work/out.json" "['confirmed']")
    [ "$conf" = "$n" ] || { echo "only $conf of $n confirmed" >&2; exit 1; }
    python3 -c "print(f'| {$n:,} | CSV | $dedupe | {$wall:.2f} s | {$req:,} | {$req/max($wall,0.01):,.0f} | {$n/max($wall,0.01):,.0f} | {$rss/1024:.0f} MB |')"
  done
done

# --journal (one sync per group of confirmed batches) and --report (one CSV row per
# ID), on the disk that holds $work: the best of $REPEAT runs each, the variants
# interleaved in every round so that a busy moment of the machine hits them alike;
# as a ratio of the plain run's best (targets: journal <= 1.3x, report <= 1.5x).
REPEAT=${REPEAT:-5}
variants=("" "--journal" "--report" "--journal --report")
echo
echo "Journal and report, best of $REPEAT interleaved runs, files in $work ($(df -h "$work" | awk 'NR == 2 { print $1 ", " $2 }'), $(findmnt -n -o FSTYPE --target "$work" 2>/dev/null || echo '?'))"
echo
echo "| IDs | flags | wall | vs plain | peak RSS |"
echo "| ---: | --- | ---: | ---: | ---: |"
for n in $SIZES; do
  csv="$work/ids-$n.csv"
  declare -A best=() best_rss=()
  for _ in $(seq "$REPEAT"); do
    for flags in "${variants[@]}"; do
      rm -f "$work/j" "$work/r.csv"
      extra=()
      [[ " $flags " == *" --journal "* ]] && extra+=(--journal "$work/j")
      [[ " $flags " == *" --report "* ]] && extra+=(--report "$work/r.csv")
      timed "$bin/tagctl" --api-url "$url" tag BENCH -f "$csv" --output json --quiet "${extra[@]}" >"$work/out.json" || true
      conf=$(json "$work/out.json" "['confirmed']")
      [ "$conf" = "$n" ] || { echo "only $conf of $n confirmed with '$flags'" >&2; exit 1; }
      read -r wall rss <"$work/time"
      key="x$flags"
      if [ -z "${best[$key]:-}" ] || python3 -c "import sys; sys.exit(0 if $wall < ${best[$key]} else 1)"; then
        best[$key]=$wall best_rss[$key]=$rss
      fi
    done
  done
  for flags in "${variants[@]}"; do
    key="x$flags"
    python3 -c "print(f'| {$n:,} | ${flags:-(none)} | {${best[$key]}:.2f} s | {${best[$key]}/max(${best[x]},0.01):.2f}x | {${best_rss[$key]}/1024:.0f} MB |')"
  done
done

echo
echo "The obvious alternative: split into chunks of 1000, one curl per chunk, in a shell loop."
echo
echo "| IDs | tool | wall | IDs/s |"
echo "| ---: | --- | ---: | ---: |"
for n in $CURL_SIZES; do
  lines="$work/ids-$n.txt"
  awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "cus_%012d\n", i }' >"$lines"
  mkdir -p "$work/chunks-$n"
  t0=$(now_ms)
  (
    cd "$work/chunks-$n"
    split -l 1000 "$lines" chunk.
    for f in chunk.*; do
      { printf '{"customerIds":['; sed 's/.*/"&"/' "$f" | paste -sd, -; printf ']}'; } |
        curl -sS -o /dev/null -X POST -H "REB-APIKEY: $REBILLY_API_KEY" \
          -H 'Content-Type: application/json' --data-binary @- "$url/tags/CURL/customers"
    done
  )
  t1=$(now_ms)
  timed "$bin/tagctl" --api-url "$url" tag BENCH -f "$lines" --quiet || true
  read -r wall _ <"$work/time"
  python3 -c "w=($t1-$t0)/1000; print(f'| {$n:,} | curl loop | {w:.2f} s | {$n/w:,.0f} |'); print(f'| {$n:,} | tagctl | {$wall:.2f} s | {$n/max($wall,0.01):,.0f} |')"
done

echo
start_mock limited --rate-limit 10/2s
ids50k="$work/ids-50k.txt"
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "cus_%08d\n", i }' >"$ids50k"
"$bin/tagctl" --api-url "$limited" tag LIMITED -f "$ids50k" --output json --quiet >"$work/limited.json" || true
end=$(now_ms)
curl -s "$limited/__mock/requests" >"$work/limited-requests.json"
python3 - "$work/limited.json" "$work/limited-requests.json" "$end" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
reqs = json.load(open(sys.argv[2]))
end = int(sys.argv[3])
first = min(r["received_unix_ms"] for r in reqs)
needed = 50                      # 50,000 IDs / 1000 per request
ceiling = needed / (10 / 2)      # requests / allowed rate = 10 s
actual = (end - first) / 1000
# Windows are aligned to the epoch, so the first one is partly gone when the run
# starts: the true minimum is the start of the 5th window the run touches.
windows = -(-needed // 10)
earliest = ((first // 2000) + windows - 1) * 2000
windows_used = len({r["received_unix_ms"] // 2000 for r in reqs})
print("Rate-limited run: 50,000 IDs, mock limited to 10 requests per 2-second window")
print(f"- confirmed {summary['confirmed']:,}, requests {summary['requests']}, 429s met {summary['rate_limited']} in {windows_used} windows")
print(f"- from the first request to the end: {actual:.2f} s; requests / rate: {ceiling:.1f} s (ratio {ceiling/actual:.2f})")
print(f"- the last window could open at +{(earliest-first)/1000:.2f} s at the earliest; efficiency {(earliest-first)/max(end-first,1):.3f}")
PY

echo
if [[ " $SIZES " == *" 10000000 "* ]]; then
  big="$work/ids-10000000.csv"
else
  big="$work/first-request.txt"
  awk 'BEGIN { for (i = 0; i < 10000000; i++) printf "cus_%012d\n", i }' >"$big"
fi
[ -f "$big" ] || awk 'BEGIN { print "customerId"; for (i = 0; i < 10000000; i++) printf "cus_%012d\n", i }' >"$big"
start_mock first --rate-limit 1/60s
t0=$(now_ms)
"$bin/tagctl" --api-url "$first" tag FIRST -f "$big" --quiet --max-wait 0 --output json >/dev/null 2>&1 || true
curl -s "$first/__mock/requests" | python3 -c "
import json, sys
reqs = json.load(sys.stdin)
t = min(r['received_unix_ms'] for r in reqs)
print(f'First request after process start, 10M-line input: {t - $t0} ms (including process start-up)')"

echo
echo "verify (read back, 100 IDs per GET), unlimited mock:"
BUILT=1 bash benches/verify.sh
