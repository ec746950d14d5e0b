#!/usr/bin/env bash
# What the attention drift metrics cost (a benchmark, not a test): dy-digits throughput with
# metrics.attention_drift on and off, alternating the two servers round by round so that load from
# other work on the machine falls on both alike. Two request kinds: the default (trace level attention,
# stored) and trace=none (the drift metrics then make the engine hand back pi). Prints each run and
# the medians per mode and kind of throughput and of the server's CPU time per request (user + system,
# from /proc: less disturbed by other work on the machine than throughput is).
#
# Usage: bash scripts/loadtest/drift-cost.sh   (DRIFT_ROUNDS=5, DRIFT_DURATION=10s, DRIFT_CONNECTIONS=8)
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${DRIFT_ROUNDS:-5}
duration=${DRIFT_DURATION:-10s}
connections=${DRIFT_CONNECTIONS:-8}
bin=${LOADTEST_BIN:-.build/release/dyserve}
command -v wrk >/dev/null || { echo "drift-cost: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "drift-cost: $bin not found; run: swift build -c release --product dyserve" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
python3 -c 'import struct, sys; open(sys.argv[1], "wb").write(struct.pack("<64f", *[float((i * 7) % 17) for i in range(64)]))' "$tmp/digit.bin"

declare -A port pid
cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }
start() {  # $1 = on|off
  local p
  p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  DYSERVE_METRICS_ATTENTION_DRIFT=$([[ $1 == on ]] && echo true || echo false) \
    "$bin" serve --config config/dyserve.yaml --port "$p" --models dy-digits >"$tmp/$1.log" 2>&1 &
  pids+=($!)
  pid[$1]=$!
  port[$1]=$p
  for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$p/readyz" && return 0; sleep 0.1; done
  echo "drift-cost: server ($1) not ready" >&2; exit 1
}
start on
start off

echo "round mode kind req/s cpu_us/req"
for round in $(seq 1 "$rounds"); do
  for mode in on off; do
    for kind in attention none; do
      query="model=dy-digits"
      [[ $kind == none ]] && query="$query&trace=none"
      cpu0=$(cpu_ticks "${pid[$mode]}")
      result=$(LOADTEST_BODY=$tmp/digit.bin LOADTEST_CONTENT_TYPE=application/octet-stream LOADTEST_SHAPE=1,1,8,8 \
        wrk -t2 -c"$connections" -d"$duration" -s scripts/loadtest/post.lua "http://127.0.0.1:${port[$mode]}/infer?$query" \
        | grep '^RESULT')
      cpu1=$(cpu_ticks "${pid[$mode]}")
      rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$result")
      requests=$(sed -n 's/.* requests=\([^ ]*\).*/\1/p' <<<"$result")
      cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (b - a) * 1e6 / hz / n }')
      echo "$round $mode $kind $rps $cpu_us" | tee -a "$tmp/runs"
    done
  done
done
echo
echo "medians (min..max) over $rounds rounds of $duration at $connections connections:"
for kind in attention none; do
  for mode in on off; do
    for column in 4 5; do
      awk -v m="$mode" -v k="$kind" -v c="$column" '$2 == m && $3 == k { print $c }' "$tmp/runs" | sort -n \
        | awk -v m="$mode" -v k="$kind" -v c="$column" '{ v[NR] = $1 } END { med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
            printf "  trace=%-9s drift %-3s %-14s %8.0f  (%.0f..%.0f)\n", k, m, c == 4 ? "req/s" : "CPU us/req", med, v[1], v[NR] }'
    done
  done
done
