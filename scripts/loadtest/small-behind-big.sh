#!/usr/bin/env bash
# Does a small model wait behind a big one? (a benchmark, not a test) Starts the release binary with
# dy-digits and dy-mobilenetv2 (config/dyserve.yaml, batching on), then measures in turn:
#   0. GET /healthz alone, one connection: the round trip with no inference, this machine's floor;
#   1. dy-digits alone: one connection, sequential requests (wrk -c1), raw FP32 body;
#   2. dy-mobilenetv2 alone: a flood of 8 connections, raw FP32 224x224 body;
#   3. both at once: the same flood and the same sequential dy-digits client;
#   4. the same flood beside GET /healthz (no inference): what the flood costs a round trip that needs
#      only the HTTP thread and the client, to tell the inference path's share of the tail from the rest.
# and prints wrk's RESULT lines and the two figures the serving issue's target is stated in:
# dy-digits p99 during the flood, and the flood's throughput with dy-digits / alone.
#
# Usage: bash scripts/loadtest/small-behind-big.sh [seconds]   (default 10; LOADTEST_BIN picks the
#        binary, LOADTEST_PORT the port, LOADTEST_FLOOD the flood's connections; DYSERVE_* variables
#        in the environment reach the server)
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-10}
bin=${LOADTEST_BIN:-.build/release/dyserve}
port=${LOADTEST_PORT:-18282}
flood=${LOADTEST_FLOOD:-8}
source scripts/loadtest/load-server.sh
start_load_server small-behind-big dy-digits,dy-mobilenetv2

health() {  # $1 = seconds
  LOADTEST_BODY= wrk -t1 -c1 -d"$1"s --timeout 30s -s scripts/loadtest/post.lua "http://127.0.0.1:$port/healthz" | grep '^RESULT'
}
digits() {  # $1 = seconds
  LOADTEST_BODY=$tmp/digits.bin LOADTEST_CONTENT_TYPE=application/octet-stream LOADTEST_SHAPE=1,1,8,8 \
    wrk -t1 -c1 -d"$1"s --timeout 30s -s scripts/loadtest/post.lua "http://127.0.0.1:$port/infer?model=dy-digits" \
    | grep '^RESULT'
}
mobilenet() {  # $1 = seconds
  LOADTEST_BODY=$tmp/mobilenet.bin LOADTEST_CONTENT_TYPE=application/octet-stream LOADTEST_SHAPE=1,3,224,224 \
    wrk -t2 -c"$flood" -d"$1"s --timeout 30s -s scripts/loadtest/post.lua "http://127.0.0.1:$port/infer?model=dy-mobilenetv2" \
    | grep '^RESULT'
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

digits 1 >/dev/null; mobilenet 1 >/dev/null  # warm-up: plans and caches built
alone_health=$(health "$seconds")
alone_digits=$(digits "$seconds")
alone_flood=$(mobilenet "$seconds")
mobilenet "$seconds" >"$tmp/flood" &
flooder=$!
sleep 0.5
both_digits=$(digits "$(awk -v s="$seconds" 'BEGIN { print (s > 1 ? s - 1 : 1) }')")
wait "$flooder"
both_flood=$(cat "$tmp/flood")
mobilenet "$seconds" >/dev/null &
flooder=$!
sleep 0.5
both_health=$(health "$(awk -v s="$seconds" 'BEGIN { print (s > 1 ? s - 1 : 1) }')")
wait "$flooder"

echo "$(nproc) cores, $seconds s per run, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "GET /healthz alone:         $alone_health"
echo "dy-digits alone:            $alone_digits"
echo "dy-mobilenetv2 flood alone: $alone_flood"
echo "dy-digits during the flood: $both_digits"
echo "flood with dy-digits:       $both_flood"
echo "GET /healthz during a flood: $both_health"
echo "dy-digits p50 / p99 during the flood: $(field p50_ms "$both_digits") / $(field p99_ms "$both_digits") ms (target p99 <= 2)"
awk -v a="$(field rps "$alone_flood")" -v b="$(field rps "$both_flood")" \
  'BEGIN { if (a > 0) printf "flood throughput with dy-digits / alone: %.2f (target >= 0.90)\n", b / a }'
