#!/usr/bin/env bash
# Contract test: starts the release binary with the shipped config and models, checks that
# GET /openapi.json serves docs/openapi.json byte for byte, then runs schemathesis (pinned below,
# in the venv ~/.cache/dyserve/venv-schemathesis) against it with every check enabled, in its
# examples, coverage and fuzzing phases, a bounded number of cases per operation. Zero failures
# passes. Settings: scripts/schemathesis/schemathesis.toml; report: test-output/schemathesis/.
# Assumes `swift build -c release --product dyserve` has run (scripts/test.sh does it).
# Usage: scripts/schemathesis.sh [extra schemathesis options, e.g. --max-examples 200]
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv="$HOME/.cache/dyserve/venv-schemathesis"
binary=.build/release/dyserve
[ -x "$binary" ] || { echo "schemathesis: $binary not built; run: swift build -c release --product dyserve" >&2; exit 1; }

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $version" ]; then
    echo "schemathesis: installing schemathesis $version into $venv"
    python3 -m venv "$venv" || { apt-get install -y -q python3-venv >/dev/null && python3 -m venv "$venv"; }
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$version"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
out=test-output/schemathesis
rm -rf "$out"
mkdir -p "$out"
"$binary" serve --config config/dyserve.yaml --port "$port" >"$out/serve.log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ] && break
    kill -0 "$server" 2>/dev/null || { echo "schemathesis: server exited:"; cat "$out/serve.log"; exit 1; }
    sleep 0.2
done

curl -sf -o "$out/served-openapi.json" "$base/openapi.json"
if ! cmp -s "$out/served-openapi.json" docs/openapi.json; then
    echo "schemathesis: GET /openapi.json differs from docs/openapi.json (run scripts/openapi-embed.sh and rebuild)" >&2
    exit 1
fi
echo "ok   GET /openapi.json is docs/openapi.json byte for byte"

# A fixed seed makes a failure reproducible; the per-operation case count and the request
# timeout bound the run (the large models answer in tens of milliseconds, dy-digits in less).
status=0
"$venv/bin/schemathesis" --no-color --config-file scripts/schemathesis/schemathesis.toml run docs/openapi.json \
    --url "$base" --checks all --phases examples,coverage,fuzzing --max-examples 40 --seed 1729 \
    --workers 2 --request-timeout 60 \
    --report junit --report-dir "$out" "$@" || status=$?
if ! kill -0 "$server" 2>/dev/null; then
    echo "schemathesis: the server died during the run:" >&2
    tail -50 "$out/serve.log" >&2
    exit 1
fi
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] || { echo "schemathesis: /readyz is not 200 after the run" >&2; exit 1; }
exit "$status"
