#!/usr/bin/env bash
# Contract test: starts the release binary with the shipped config and models, checks that
# GET /openapi.json serves docs/openapi.json byte for byte, then runs schemathesis (pinned below,
# in the venv ~/.cache/dyserve/venv-schemathesis) against it with every check enabled, in its
# examples, coverage and fuzzing phases, a bounded number of cases per operation. Zero failures
# passes. Settings: scripts/schemathesis/schemathesis.toml; reports: test-output/schemathesis/.
# Assumes `swift build -c release --product dyserve` has run (scripts/test.sh does it).
# Usage: scripts/schemathesis.sh [extra schemathesis run options, e.g. --max-examples 200]
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv="$HOME/.cache/dyserve/venv-schemathesis"
binary=.build/release/dyserve
[ -x "$binary" ] || { echo "schemathesis: $binary not built; run: swift build -c release --product dyserve" >&2; exit 1; }

# CPython before 3.12.2 can fail inside hypothesis with "AST constructor recursion depth mismatch"
# (a CPython bug): the venv is built with a newer Python when one is installed (pyenv's included).
python=python3
for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12, 2))' >/dev/null 2>&1; then
        python=$candidate
        break
    fi
done
wanted="schemathesis $version on $("$python" --version 2>&1)"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$wanted" ]; then
    echo "schemathesis: installing $wanted into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv" || { apt-get install -y -q python3-venv >/dev/null && "$python" -m venv "$venv"; }
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$version"
    echo "$wanted" >"$venv/.installed"
fi

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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
status() { curl -s -o /dev/null -w '%{http_code}' "$base$1" || true; }

for _ in $(seq 1 600); do
    [ "$(status /readyz)" = 200 ] && break
    kill -0 "$server" 2>/dev/null || { echo "schemathesis: server exited:"; cat "$out/serve.log"; exit 1; }
    sleep 0.2
done

curl -sf -o "$out/served-openapi.json" "$base/openapi.json"
if ! cmp -s "$out/served-openapi.json" docs/openapi.json; then
    echo "schemathesis: GET /openapi.json differs from docs/openapi.json (run scripts/openapi-embed.sh and rebuild)" >&2
    exit 1
fi
echo "ok   GET /openapi.json is docs/openapi.json byte for byte"
"$venv/bin/python" scripts/schemathesis/examples_answer.py "$base" docs/openapi.json

# A fixed seed makes a failure reproducible; the per-operation case count bounds the run.
run() { # run NAME [schemathesis run options]
    local name=$1
    shift
    echo "== schemathesis: $name"
    "$venv/bin/schemathesis" --no-color --config-file scripts/schemathesis/schemathesis.toml run docs/openapi.json \
        --url "$base" --checks all --phases examples,coverage,fuzzing --max-examples 30 --seed 1729 \
        --workers 2 --request-timeout 60 --report junit --report-junit-path "$out/junit-$name.xml" "$@" "${extra[@]}"
}
extra=("$@")
failed=0
# Unloading a model makes every later call on it a 503, so load and unload run on their own,
# after everything else has been tested against the models as shipped.
run api --exclude-operation-id v2RepositoryLoad --exclude-operation-id v2RepositoryUnload || failed=1
if ! kill -0 "$server" 2>/dev/null; then
    echo "schemathesis: the server died during the run:" >&2
    tail -50 "$out/serve.log" >&2
    exit 1
fi
[ "$(status /readyz)" = 200 ] || { echo "schemathesis: /readyz is not 200 after the run" >&2; failed=1; }
run repository --include-operation-id v2RepositoryLoad --include-operation-id v2RepositoryUnload || failed=1
kill -0 "$server" 2>/dev/null && [ "$(status /healthz)" = 200 ] || { echo "schemathesis: the server does not answer after the run" >&2; failed=1; }
[ "$failed" = 0 ] && echo "schemathesis: 0 failures"
exit "$failed"
