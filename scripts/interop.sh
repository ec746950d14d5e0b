#!/usr/bin/env bash
# Interoperability tests of the Open Inference Protocol (KServe v2): the real tritonclient[http] client
# and raw `requests` calls against the release binary (Tests/Interop). Creates the venv .venv-interop
# (git-ignored) with Tests/Interop/requirements.txt on first use.
# Assumes `swift build -c release --product dyserve` has run (scripts/test.sh does it); another binary
# can be named with INTEROP_DYSERVE_BIN. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${INTEROP_DYSERVE_BIN:-.build/release/dyserve}
export INTEROP_DYSERVE_BIN="$(realpath "$binary" 2>/dev/null || echo "$binary")"
[ -x "$binary" ] || { echo "interop: $binary not built; run: swift build -c release --product dyserve" >&2; exit 1; }

venv=.venv-interop
requirements=Tests/Interop/requirements.txt
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# Reinstall only when the requirements changed since the last install.
stamp="$venv/.requirements.sha256"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$requirements"
    echo "$wanted" > "$stamp"
fi

# pytest exits non-zero on any failure, and with status 5 when no test ran: both fail this script.
cd Tests/Interop
exec "../../$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
