#!/usr/bin/env bash
# SIGTERM during a burst: starts `dyserve serve` (release binary if built, else debug) on a free
# port with dy-digits, fires a burst of large binary requests, waits until the server holds every
# one of them, sends SIGTERM, and checks that every request got 200 and the process exited 0.
# It fails unless requests were really in flight at SIGTERM (the gauge just before it, and the
# queued count the server logs on receiving it), so a burst that drained too early cannot pass.
# Usage: bash scripts/shutdown-test.sh [requests]   (SHUTDOWN_TEST_BIN picks another binary)
set -euo pipefail
cd "$(dirname "$0")/.."

requests=${1:-40}
bin=${SHUTDOWN_TEST_BIN:-}
if [[ -z "$bin" ]]; then
  for candidate in .build/release/dyserve .build/debug/dyserve; do
    if [[ -x "$candidate" ]]; then bin=$candidate; break; fi
  done
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "shutdown-test: no dyserve binary; build it first (swift build)" >&2; exit 2; }
# Samples per request: enough that the burst is still queued at SIGTERM, few enough that it drains
# well within shutdown_timeout_s (a debug build computes about 50x slower than a release build).
default_samples=1024
[[ "$bin" == *debug* ]] && default_samples=32
samples=${SHUTDOWN_TEST_SAMPLES:-$default_samples}

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

head -c $((samples * 64 * 4)) /dev/zero > "$tmp/body.bin"   # zeros are valid FP32 pixels
"$bin" serve --config config/dyserve.yaml --port 0 --models dy-digits >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!

url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^dyserve listening on \(http:[^ ]*\)$/\1/p' "$tmp/stdout" | head -n 1)
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/stderr" >&2; echo "shutdown-test: the server did not start" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "shutdown-test: no 'listening' line within 60 s" >&2; exit 1; }

for i in $(seq 1 "$requests"); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 \
    -H 'Content-Type: application/octet-stream' -H "X-Tensor-Shape: $samples,1,8,8" \
    --data-binary @"$tmp/body.bin" "$url/infer?model=dy-digits" >"$tmp/code.$i" 2>/dev/null &
done

# Every request has reached the server once answered + in flight == requests.
held() {
  curl -s --max-time 10 "$url/metrics" | awk '
    /^dyserve_in_flight_requests\{model="dy-digits"\}/ { n += $2 }
    /^dyserve_requests_total\{.*model="dy-digits"/ { n += $2 }
    END { printf "%d", n }'
}
all_held=false
for _ in $(seq 1 600); do
  if [[ $(held) -ge $requests ]]; then all_held=true; break; fi
  sleep 0.05
done
in_flight=$(curl -s --max-time 10 "$url/metrics" | awk '/^dyserve_in_flight_requests\{model="dy-digits"\}/ { printf "%d", $2 }')

kill -TERM "$pid"
ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/readyz" || true)
late=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/octet-stream' \
  -H 'X-Tensor-Shape: 1,1,8,8' --data-binary @<(head -c 256 /dev/zero) "$url/infer?model=dy-digits" || true)

status=0
wait "$pid" || status=$?
wait  # the curls
# The server's own count at SIGTERM: "stopping: ... finishing N queued requests".
queued_at_term=$(sed -n 's/.*stopping: .*finishing \([0-9][0-9]*\) queued requests.*/\1/p' "$tmp/stderr" | head -n 1)

answered=$(cat "$tmp"/code.* | grep -c '^200$' || true)
other=$(cat "$tmp"/code.* | grep -vc '^200$' || true)
echo "shutdown-test: $requests requests, $in_flight in flight just before SIGTERM, ${queued_at_term:-?} queued at it; $answered answered 200, $other otherwise" \
     "($(cat "$tmp"/code.* | sort | uniq -c | tr -s ' \n' ' ')); /readyz after SIGTERM: $ready; new /infer: $late; exit code $status"
grep -E "stopping|shutdown_timeout" "$tmp/stderr" | sed 's/^/  server: /' || true

fail=0
$all_held || { echo "FAIL: the server never held all $requests requests (held: $(held 2>/dev/null || echo '?'))" >&2; fail=1; }
[[ "${in_flight:-0}" -ge 1 ]] || { echo "FAIL: no request was in flight just before SIGTERM; nothing tested the drain" >&2; fail=1; }
[[ -n "$queued_at_term" ]] || { echo "FAIL: the server logged no 'stopping: ... finishing N queued requests' line" >&2; fail=1; }
[[ "${queued_at_term:-0}" -ge 1 ]] || { echo "FAIL: the server had no queued request at SIGTERM; raise the burst" >&2; fail=1; }
[[ "$status" -eq 0 ]] || { echo "FAIL: exit code $status, expected 0" >&2; fail=1; }
[[ "$answered" -eq "$requests" ]] || { echo "FAIL: $answered of $requests accepted requests answered 200" >&2; fail=1; }
# Both probes race the end of the drain: if the server still answers, it must say 503.
[[ "$ready" == "503" || "$ready" == "000" ]] || { echo "FAIL: /readyz answered $ready after SIGTERM" >&2; fail=1; }
[[ "$late" == "503" || "$late" == "000" ]] || { echo "FAIL: /infer after SIGTERM answered $late" >&2; fail=1; }
[[ $fail -eq 0 ]] && echo "shutdown-test: PASS"
exit $fail
