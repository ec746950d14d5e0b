#!/usr/bin/env bash
# The PyTorch side (issue 12): tools/test_reference.py (the reference interpreter against naive loops),
# a byte-identical regeneration of the engine's conformance fixtures (Tests/DyNNTests/Fixtures), and the
# dyserve-export tests (tools/dyserve-export/tests), which export torchvision / timm / DY networks and
# prove each export with the reference interpreter and `dyserve run` of the release binary.
#
# Needs torch: a venv at ~/.cache/dyserve/venv-torch (outside the repository, so later runs and other
# checkouts reuse it; about 5 GB the first time), (re)installed from tools/requirements-torch.txt only
# when that file changes. Works on a fresh Debian machine as root with PyPI reachable.
# Assumes `swift build -c release --product dyserve` has run; DYSERVE_BINARY names another binary.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${DYSERVE_BINARY:-.build/release/dyserve}
venv=${DYSERVE_TORCH_VENV:-$HOME/.cache/dyserve/venv-torch}
requirements=tools/requirements-torch.txt
fixtures=Tests/DyNNTests/Fixtures

[ -x "$binary" ] || { echo "exporter-test: $binary not built; run: swift build -c release --product dyserve" >&2; exit 1; }
binary=$(realpath "$binary")

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# Python with venv and pip (Debian splits them out of python3).
missing=()
for package in python3 python3-venv python3-pip; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "exporter-test: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements-torch.sha256"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "exporter-test: installing $requirements into $venv (torch: a few minutes the first time)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
fi
# The package from this checkout, every run (its dependencies are in the requirements above). Built from
# a copy: setuptools leaves build/ and *.egg-info/ in the folder it builds.
package_copy=$(mktemp -d)
cp -a tools/dyserve-export "$package_copy/"
find "$package_copy" -name __pycache__ -prune -exec rm -rf {} +
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall \
    "$package_copy/dyserve-export"
rm -rf "$package_copy"
python="$venv/bin/python"

echo "exporter-test: reference self-checks"
log=$(mktemp)
"$python" tools/test_reference.py > "$log" || { cat "$log"; rm -f "$log"; exit 1; }
tail -1 "$log"
rm -f "$log"

# The fixtures must regenerate byte for byte. The tree is restored whatever happens, so a failed
# check does not leave regenerated files behind.
echo "exporter-test: regenerating $fixtures"
saved=$(mktemp -d)
cp -a "$fixtures" "$saved/"
restore() { rm -rf "$fixtures"; cp -a "$saved/$(basename "$fixtures")" "$fixtures"; rm -rf "$saved"; }
trap restore EXIT
"$python" tools/make_fixtures.py > /dev/null
if ! diff -r "$saved/$(basename "$fixtures")" "$fixtures" > "$saved/diff"; then
    echo "exporter-test: tools/make_fixtures.py no longer reproduces $fixtures:" >&2
    head -20 "$saved/diff" >&2
    exit 1
fi
restore
trap - EXIT
echo "exporter-test: fixtures regenerate byte-identically"

# pytest exits non-zero on any failure, and with status 5 when no test ran: both fail this script.
# Run from tests/, so the installed package (not the source folder) is what gets imported.
cd tools/dyserve-export/tests
DYSERVE_BINARY="$binary" "$python" -m pytest -q -p no:cacheprovider "$@"
