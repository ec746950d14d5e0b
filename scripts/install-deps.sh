#!/usr/bin/env bash
# Installs the system packages dyserve builds and runs with. Used by the README's commands, CI and the
# Dockerfile, so a developer's machine and the image cannot drift apart. Idempotent: installs only what is missing.
set -euo pipefail
# --runtime: only the shared libraries the release binary loads (the container's runtime stage: no
# headers, no compilers). Debian 12 names. The image links the binary with --static-swift-stdlib, so
# the Swift runtime needs no package; what remains is the C/C++ runtime, GNU libmicrohttpd (apt brings
# its TLS stack, libgnutls30 and friends, as dependencies), zlib, and oneDNN with its OpenMP runtime.
# scripts/check-deploy.sh proves this list covers every library `ldd` reports for the binary.
runtime_packages=(libc6 libgcc-s1 libstdc++6 zlib1g libmicrohttpd12 libdnnl2 libgomp1)
# --print: print the chosen list, one a line, and install nothing.
runtime=false
print_only=false
for argument in "$@"; do
    case "$argument" in
        --runtime) runtime=true ;;
        --print) print_only=true ;;
        *) echo "install-deps: unknown option '$argument' (expected --runtime, --print)" >&2; exit 2 ;;
    esac
done

packages=(libmicrohttpd-dev libdnnl-dev zlib1g-dev pkg-config curl openssl)
missing=()
# Default: the build and development packages above; --runtime swaps in the runtime list.
if $runtime; then packages=("${runtime_packages[@]}"); fi
if $print_only; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi
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
