#!/usr/bin/env bash
# The CDNNL shim off x86: its portable loops are what an arm64 build runs, so prove here that
#  1. shim.h, with dyrelu.h, compiles for aarch64 (clang cross syntax check against the installed
#     oneDNN headers), and
#  2. a build with DYSERVE_PORTABLE_KERNELS (every kernel on its portable loop) passes the fast
#     backend's tests against the reference path (own scratch path, so the normal build is untouched).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "portable kernels: shim.h for aarch64"
clang --target=aarch64-linux-gnu -ffreestanding -fsyntax-only -x c -Wall -Werror -Wno-unused-function \
    -I/usr/include Sources/CDNNL/shim.h

echo "portable kernels: fast backend tests with DYSERVE_PORTABLE_KERNELS"
DYSERVE_EXPECT_PORTABLE_KERNELS=1 swift test --scratch-path .build-portable -Xcc -DDYSERVE_PORTABLE_KERNELS \
    --filter 'DyNNTests\.(Fast|NHWCKernel|PortableKernels|GateFoldingKernel|PixelSplitPooling)'
