# Sourced by the load scripts that start their own server (loadtest.sh, small-behind-big.sh,
# served-vs-bench.sh).
# start_load_server NAME MODELS: checks for wrk and "$bin", makes "$tmp" (removed on exit, with the
# server stopped), writes the request bodies $tmp/digits.bin (1x1x8x8) and $tmp/mobilenet.bin
# (1x3x224x224), raw FP32, then starts "$bin" serve on "$port" with MODELS (comma-separated) and the
# shipped config, and returns once it is ready (its pid in "$pid"). DYSERVE_* variables in the
# environment reach the server.
start_load_server() {
  local name=$1 models=$2
  command -v wrk >/dev/null || { echo "$name: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
  [[ -x "$bin" ]] || { echo "$name: $bin not found; run: swift build -c release --product dyserve" >&2; exit 2; }
  tmp=$(mktemp -d)
  pid=""
  trap '[[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
  python3 - "$tmp" <<'PY'
import struct, sys
out = sys.argv[1]
open(f"{out}/digits.bin", "wb").write(struct.pack("<64f", *[float((r * 8 + c) * 7 % 17) for r in range(8) for c in range(8)]))
n = 3 * 224 * 224
open(f"{out}/mobilenet.bin", "wb").write(struct.pack(f"<{n}f", *[((i * 31) % 255) / 255.0 for i in range(n)]))
PY
  "$bin" serve --config config/dyserve.yaml --port "$port" --models "$models" \
    >"$tmp/server.out" 2>"$tmp/server.err" &
  pid=$!
  wait_until_ready "$name"
}

# wait_until_ready NAME: returns once the server "$pid" on "$port" answers /readyz; exits with its
# stderr ("$tmp/server.err") if it died, or after 120 s.
wait_until_ready() {
  for _ in $(seq 1 1200); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.err" >&2; exit 1; }
    sleep 0.1
  done
  echo "$1: server not ready after 120 s" >&2
  exit 1
}
