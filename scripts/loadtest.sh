#!/usr/bin/env bash
# Load test (a benchmark, not a test): wrk against the release binary on 127.0.0.1, for dy-digits
# (raw FP32 and JSON bodies) and dy-mobilenetv2, at 1, 8, 32 and 128 connections, with dynamic
# batching off (scheduler.max_batch_size 1) and on (the configured default, 8). Prints one
# Markdown table row per run: throughput, p50/p90/p99 latency, status codes, socket errors,
# 503/429 answers without Retry-After, and the server's CPU time per answered request (user +
# system, all its threads, from /proc). wrk and the server share the machine's cores.
#
# Usage: bash scripts/loadtest.sh            (LOADTEST_DURATION=10s, LOADTEST_CONNECTIONS="1 8 32 128",
#        LOADTEST_CASES="digits-bin digits-json mobilenet", LOADTEST_BATCHING="off on", LOADTEST_BIN=...)
#        LOADTEST_SOAK=60s adds an overload run: dy-mobilenetv2 at 128 connections (far beyond what
#        2 cores sustain) with batching on, sampling the server's RSS every second.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${LOADTEST_DURATION:-10s}
connections=${LOADTEST_CONNECTIONS:-1 8 32 128}
cases=${LOADTEST_CASES:-digits-bin digits-json mobilenet}
batching=${LOADTEST_BATCHING-off on}
bin=${LOADTEST_BIN:-.build/release/dyserve}
port=${LOADTEST_PORT:-18080}
command -v wrk >/dev/null || { echo "loadtest: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "loadtest: $bin not found; run: swift build -c release --product dyserve" >&2; exit 2; }

tmp=$(mktemp -d)
pid=""
stop_server() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# Bodies: one dy-digits image (an "8"-like pattern of pixel values 0..16) as raw FP32 and as JSON,
# and one 224x224 RGB image for dy-mobilenetv2 as raw FP32.
python3 - "$tmp" <<'PY'
import json, struct, sys
out = sys.argv[1]
pixels = [float((r * 8 + c) * 7 % 17) for r in range(8) for c in range(8)]
open(f"{out}/digits.bin", "wb").write(struct.pack("<64f", *pixels))
rows = [[pixels[r * 8:(r + 1) * 8] for r in range(8)]]
json.dump({"model": "dy-digits", "input": [rows]}, open(f"{out}/digits.json", "w"))
n = 3 * 224 * 224
open(f"{out}/mobilenet.bin", "wb").write(struct.pack(f"<{n}f", *[((i * 31) % 255) / 255.0 for i in range(n)]))
PY

source scripts/loadtest/load-server.sh
start_server() {  # $1 = max_batch_size
  DYSERVE_SCHEDULER_MAX_BATCH_SIZE=$1 "$bin" serve --config config/dyserve.yaml --port "$port" \
    --models dy-digits,dy-mobilenetv2 >"$tmp/server.out" 2>"$tmp/server.err" &
  pid=$!
  wait_until_ready loadtest
}

run_case() {  # $1 = case, $2 = connections, $3 = batching label
  local body type shape path
  case "$1" in
    digits-bin) body=$tmp/digits.bin; type=application/octet-stream; shape=1,1,8,8; path="/infer?model=dy-digits" ;;
    digits-json) body=$tmp/digits.json; type=application/json; shape=""; path="/infer" ;;
    mobilenet) body=$tmp/mobilenet.bin; type=application/octet-stream; shape=1,3,224,224; path="/infer?model=dy-mobilenetv2" ;;
  esac
  local threads=2
  [[ "$2" -lt 2 ]] && threads=1
  local line cpu0 cpu1
  cpu0=$(server_cpu_ticks)
  line=$(LOADTEST_BODY=$body LOADTEST_CONTENT_TYPE=$type LOADTEST_SHAPE=$shape \
    wrk -t"$threads" -c"$2" -d"$duration" --timeout 30s -s scripts/loadtest/post.lua "http://127.0.0.1:$port$path" \
    | grep '^RESULT' || echo "RESULT failed")
  cpu1=$(server_cpu_ticks)
  # RESULT rps=.. p50_ms=.. p90_ms=.. p99_ms=.. requests=.. errors=.. codes=.. no_retry_after=..
  local rps p50 p90 p99 reqs errs codes nora
  rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line"); p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
  p90=$(sed -n 's/.* p90_ms=\([^ ]*\).*/\1/p' <<<"$line"); p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
  reqs=$(sed -n 's/.* requests=\([^ ]*\).*/\1/p' <<<"$line"); errs=$(sed -n 's/.* errors=\([^ ]*\).*/\1/p' <<<"$line")
  codes=$(sed -n 's/.* codes=\([^ ]*\).*/\1/p' <<<"$line"); nora=$(sed -n 's/.* no_retry_after=\([^ ]*\).*/\1/p' <<<"$line")
  local cpu_us
  cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="${reqs:-0}" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / hz / n; else print "?" }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$3" "$2" "$rps" "$p50" "$p90" "$p99" "$codes" "$errs" "$nora" "$cpu_us"
}

server_cpu_ticks() {  # utime + stime of the server process (all threads), in clock ticks
  awk '{ print $14 + $15 }' /proc/"$pid"/stat 2>/dev/null || echo 0
}

echo "dyserve load test: $(nproc) cores, wrk $duration per run, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| case | batching | conns | req/s | p50 ms | p90 ms | p99 ms | status codes | errors | 503/429 w/o Retry-After | server CPU us/req |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for mode in $batching; do
  size=1
  [[ "$mode" == "on" ]] && size=${LOADTEST_MAX_BATCH:-8}
  start_server "$size"
  for c in $cases; do
    for n in $connections; do
      run_case "$c" "$n" "$mode"
    done
  done
  peak=$(grep -E '^VmHWM' /proc/"$pid"/status | awk '{print $2 " kB"}')
  echo "<!-- batching $mode: server peak RSS $peak -->"
  stop_server
done

if [[ -n "${LOADTEST_SOAK:-}" ]]; then
  start_server "${LOADTEST_MAX_BATCH:-8}"
  : >"$tmp/rss"
  ( while kill -0 "$pid" 2>/dev/null; do
      awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status >>"$tmp/rss" 2>/dev/null || true; sleep 1
    done ) &
  sampler=$!
  duration=$LOADTEST_SOAK
  echo
  echo "Overload soak ($LOADTEST_SOAK, 128 connections, dy-mobilenetv2, batching on):"
  echo
  echo "| case | batching | conns | req/s | p50 ms | p90 ms | p99 ms | status codes | errors | 503/429 w/o Retry-After | server CPU us/req |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  run_case mobilenet 128 on
  alive=no
  kill -0 "$pid" 2>/dev/null && alive=yes
  kill "$sampler" 2>/dev/null || true
  first10=$(head -n 10 "$tmp/rss" | sort -n | tail -n 1)
  peak_all=$(sort -n "$tmp/rss" | tail -n 1)
  echo
  echo "Server alive after the soak: $alive. RSS: peak of the first 10 s ${first10:-?} kB, peak overall ${peak_all:-?} kB" \
       "($(awk -v a="${first10:-0}" -v b="${peak_all:-0}" 'BEGIN { if (a > 0) printf "%+.1f%%", (b - a) * 100 / a; else print "n/a" }'))."
  stop_server
fi
