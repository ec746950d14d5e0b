#!/usr/bin/env bash
# Where a request's CPU time goes: starts the release binary with dy-digits only, warms up for 1 s,
# runs wrk (same Lua script as loadtest.sh, raw FP32 body) and prints wrk's RESULT line plus, per
# server thread (by name), CPU microseconds and context switches per answered request, from
# /proc/<pid>/task/*/{stat,status} before and after the run.
#
# Usage: bash scripts/loadtest/cost-per-request.sh [max_batch_size] [connections] [seconds]
#        (defaults 8 32 5; LOADTEST_BIN picks the binary, LOADTEST_PORT the port, extra
#        DYSERVE_* variables in the environment reach the server)
set -euo pipefail
cd "$(dirname "$0")/../.."

batch=${1:-8}
conns=${2:-32}
seconds=${3:-5}
bin=${LOADTEST_BIN:-.build/release/dyserve}
port=${LOADTEST_PORT:-18181}
command -v wrk >/dev/null || { echo "cost-per-request: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "cost-per-request: $bin not found; run: swift build -c release --product dyserve" >&2; exit 2; }

tmp=$(mktemp -d)
pid=""
trap '[[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<64f",*[float((r*8+c)*7%17) for r in range(8) for c in range(8)]))' "$tmp/digits.bin"

DYSERVE_SCHEDULER_MAX_BATCH_SIZE=$batch "$bin" serve --config config/dyserve.yaml --port "$port" \
  --models dy-digits >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
export LOADTEST_BODY=$tmp/digits.bin LOADTEST_CONTENT_TYPE=application/octet-stream LOADTEST_SHAPE=1,1,8,8
url="http://127.0.0.1:$port/infer?model=dy-digits"
wrk -t2 -c"$conns" -d1s -s scripts/loadtest/post.lua "$url" >/dev/null

snapshot() {  # tid name cpu_ticks context_switches
  for t in /proc/"$pid"/task/*; do
    echo "$(basename "$t") $(tr ' ' '_' <"$t/comm") $(awk '{ print $14 + $15 }' "$t/stat") \
      $(awk '/ctxt_switches/ { s += $2 } END { print s }' "$t/status")"
  done | sort
}
snapshot >"$tmp/before"
result=$(wrk -t2 -c"$conns" -d"${seconds}s" -s scripts/loadtest/post.lua "$url" | grep '^RESULT')
snapshot >"$tmp/after"
echo "$result"
requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$result")
join -a2 "$tmp/before" "$tmp/after" | awk -v n="$requests" -v hz="$(getconf CLK_TCK)" '
  { if (NF == 7) { cpu = $6 - $3; cs = $7 - $4; name = $5 } else { cpu = $3; cs = $4; name = $2 }
    C[name] += cpu; S[name] += cs; tc += cpu; ts += cs }
  END { for (k in C) if (C[k] > 0 || S[k] > 0)
          printf "  %-16s cpu %6.1f us/req  context switches %5.2f /req\n", k, C[k] * 1e6 / hz / n, S[k] / n
        printf "  %-16s cpu %6.1f us/req  context switches %5.2f /req\n", "all threads", tc * 1e6 / hz / n, ts / n }'
