#!/usr/bin/env bash
# Installs the system packages dyserve builds and runs with. Used by the README's commands, CI and the
# Dockerfile, so a developer's machine and the image cannot drift apart. Idempotent: installs only what is missing.
#
#   scripts/install-deps.sh                  build and development packages (headers, pkg-config, curl)
#   scripts/install-deps.sh --runtime        only the shared libraries the release binary loads at run time
#                                            (the container's runtime stage; no headers, no compilers)
#   scripts/install-deps.sh [--runtime] --print   print that mode's package list, one a line, install nothing
#                                            (scripts/check-deploy.sh compares it with `ldd` of the binary)
set -euo pipefail

# Build: the -dev packages pull in the matching runtime libraries.
build_packages=(libmicrohttpd-dev libdnnl-dev pkg-config curl)
# Runtime, Debian 12 names. The image links the binary with --static-swift-stdlib, so the Swift
# runtime needs no package; what remains is the C/C++ runtime Swift's libraries link against, GNU
# libmicrohttpd (apt brings its TLS stack, libgnutls30 and friends, as dependencies), and oneDNN with
# its OpenMP runtime. scripts/check-deploy.sh proves this covers every library `ldd` reports.
runtime_packages=(libc6 libgcc-s1 libstdc++6 libmicrohttpd12 libdnnl2 libgomp1)

mode=build
print_only=false
for argument in "$@"; do
    case "$argument" in
        --runtime) mode=runtime ;;
        --print) print_only=true ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps: unknown option '$argument' (expected --runtime, --print)" >&2; exit 2 ;;
    esac
done

if [ "$mode" = runtime ]; then
    packages=("${runtime_packages[@]}")
else
    packages=("${build_packages[@]}")
fi

if $print_only; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

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
