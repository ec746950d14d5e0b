#!/usr/bin/env bash
# The attention explorer (GET /) in a real browser (issue 16): Debian's chromium, headless, driven by
# selenium through Debian's chromium-driver, against the release binary on a free port. Checks that the
# page loads without console errors, shows the latest traced request and its layers, that the
# temperature slider flattens pi as tau grows and sharpens it as tau shrinks, that an uploaded .npy is
# classified, and that every control has a label (scripts/browser/explorer_test.py). Screenshots of
# each view go to test-output/browser/ (git-ignored; BROWSER_TEST_OUTPUT names another folder), for
# CI to keep as artifacts.
#
# Works on a fresh Debian 12 machine as root with only Debian and PyPI reachable: installs chromium and
# chromium-driver with apt when missing, selenium into .venv-browser (git-ignored). Assumes the release
# binary is built (`swift build -c release --product dyserve`); DYSERVE_BINARY names another one.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-browser
binary=${DYSERVE_BINARY:-.build/release/dyserve}
output=${BROWSER_TEST_OUTPUT:-test-output/browser}
# Pinned, so every machine drives the browser the same way.
python_tools=(selenium==4.27.1)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for package in chromium chromium-driver python3 python3-venv python3-pip; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "browser-test: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

stamp="$venv/.tools"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${python_tools[*]}" ]; then
    echo "browser-test: installing ${python_tools[*]} into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${python_tools[@]}"
    echo "${python_tools[*]}" > "$stamp"
fi

[ -x "$binary" ] || { echo "browser-test: $binary not built; run: swift build -c release --product dyserve" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$binary" serve --config config/dyserve.yaml --port "$port" >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT
for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && break
    kill -0 "$server" 2>/dev/null || { echo "browser-test: server exited:"; cat "$log"; exit 1; }
    sleep 0.2
done

rm -rf "$output"
mkdir -p "$output"
# Selenium's own driver download stays off: the Debian chromedriver is named explicitly.
SE_OFFLINE=true "$venv/bin/python" scripts/browser/explorer_test.py --base "http://127.0.0.1:$port" \
    --npy docs/examples/digit.npy --out "$output"

# Again with API keys (docs/auth.md) and the explorer's files open: the page must ask for the key.
kill "$server"; wait "$server" 2>/dev/null || true
key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
DYSERVE_AUTH_KEYS="$key inference,introspection" DYSERVE_AUTH_EXPLORER=open \
    "$binary" serve --config config/dyserve.yaml --port "$port" >"$log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)" = 200 ] && break
    kill -0 "$server" 2>/dev/null || { echo "browser-test: server with keys exited:"; cat "$log"; exit 1; }
    sleep 0.2
done
SE_OFFLINE=true "$venv/bin/python" scripts/browser/explorer_test.py --base "http://127.0.0.1:$port" \
    --npy docs/examples/digit.npy --out "$output" --key "$key"
