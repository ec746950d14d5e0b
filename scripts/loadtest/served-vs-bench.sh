#!/usr/bin/env bash
# Served latency against the engine's in-process latency, with a C client (a benchmark, not a test).
# tools/bench_peers.py --served times both with a Python client, as the FastAPI peer needs; this
# times the same served requests with wrk (one connection, sequential, raw FP32 224x224 body), whose
# own cost per request is tens of microseconds, so what remains over `dyserve bench` is the server's.
# Rounds alternate: `dyserve bench` p50, then wrk's p50 against `dyserve serve`, per model.
#
# Usage: bash scripts/loadtest/served-vs-bench.sh [rounds] [seconds]   (default 3 rounds of 5 s;
#        LOADTEST_BIN picks the binary, LOADTEST_PORT the port)
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${1:-3}
seconds=${2:-5}
bin=${LOADTEST_BIN:-.build/release/dyserve}
port=${LOADTEST_PORT:-18283}
models=(mobilenetv2 dy-mobilenetv2)
source scripts/loadtest/load-server.sh
start_load_server served-vs-bench "$(IFS=,; echo "${models[*]}")"

served() {  # $1 = model, $2 = seconds: wrk's p50 in ms
  LOADTEST_BODY=$tmp/mobilenet.bin LOADTEST_CONTENT_TYPE=application/octet-stream LOADTEST_SHAPE=1,3,224,224 \
    wrk -t1 -c1 -d"$2"s --timeout 30s -s scripts/loadtest/post.lua "http://127.0.0.1:$port/infer?model=$1" \
    | sed -n 's/^RESULT.* p50_ms=\([^ ]*\).*/\1/p'
}
in_process() {  # $1 = model: `dyserve bench` median in ms
  "$bin" bench --model "models/$1" --iterations 40 | sed -n 's/^latency *median \([0-9.]*\) ms.*/\1/p'
}

for model in "${models[@]}"; do served "$model" 1 >/dev/null; done  # warm-up
echo "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  for model in "${models[@]}"; do
    bench=$(in_process "$model")
    wire=$(served "$model" "$seconds")
    echo "round $round $model: bench p50 $bench ms, served p50 $wire ms" | tee -a "$tmp/rounds"
  done
done
for model in "${models[@]}"; do
  grep " $model: " "$tmp/rounds" | awk -v m="$model" '
    { b[NR] = $6; s[NR] = $10; r[NR] = $10 / $6 }
    function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END { n = NR; printf "%s: bench p50 median %.2f ms, served p50 median %.2f ms, served / bench per round median %.2f (target <= 1.15)\n",
          m, median(b, n), median(s, n), median(r, n) }'
done
