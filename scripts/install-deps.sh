#!/usr/bin/env bash
# Installs the system packages dyserve builds and runs with. Used by the README's commands, CI and the
# Dockerfile, so a developer's machine and the image cannot drift apart. Idempotent: installs only what is missing.
set -euo pipefail

packages=(libmicrohttpd-dev libdnnl-dev zlib1g-dev pkg-config curl)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "install-deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
