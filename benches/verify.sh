#!/usr/bin/env bash
# verify benchmark: the release binary reads back N tagged customers (N/100 GETs of
# 100 IDs) from the bundled mock on 127.0.0.1, unlimited.
#
#   bash benches/verify.sh                  # 1,000,000 IDs (~20 s with the set-up)
#   VERIFY_SIZES="100000 1000000" bash benches/verify.sh
#
# For each size: the mock is started (recording, so it keeps each customer's tags), the
# IDs are tagged with tagctl (not timed), the mock is made to apply every write, then
# `tagctl verify` is timed: wall time, GETs, GETs per 1,000 IDs, IDs/s and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${VERIFY_SIZES:-"1000000"}
work=$(mktemp -d /tmp/tagctl-verify-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

[ -n "${BUILT:-}" ] || cargo build --release --quiet --bin tagctl --bin tagctl-mock
bin=target/release
export REBILLY_API_KEY=bench-key

if [ -x /usr/bin/time ]; then
  timed() { /usr/bin/time -f "%e %M" -o "$work/time" "$@"; }
else
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
json() { python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }

echo "| IDs | wall | GETs | GETs per 1,000 IDs | IDs/s | peak RSS |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $SIZES; do
  out="$work/mock.out"
  "$bin/tagctl-mock" --quiet >"$out" 2>/dev/null &
  pids+=("$!")
  for _ in $(seq 100); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -n 's/.*listening on //p' "$out")
  ids="$work/ids-$n.txt"
  awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "cus_%012d\n", i }' >"$ids"
  "$bin/tagctl" --api-url "$url" tag BENCH -f "$ids" --quiet --no-dedupe
  curl -s "$url/__mock/stats" >/dev/null   # applies every write before the clock starts
  timed "$bin/tagctl" --api-url "$url" verify BENCH -f "$ids" --output json --quiet >"$work/out.json" || true
  read -r wall rss <"$work/time"
  req=$(json "$work/out.json" "['requests']")
  matching=$(json "$work/out.json" "['matching']")
  [ "$matching" = "$n" ] || { echo "only $matching of $n matching" >&2; exit 1; }
  python3 -c "print(f'| {$n:,} | {$wall:.2f} s | {$req:,} | {$req*1000/$n:.0f} | {$n/max($wall,0.01):,.0f} | {$rss/1024:.0f} MB |')"
  kill "${pids[-1]}" 2>/dev/null || true
done
