#!/usr/bin/env bash
# The whole test suite: Swift unit and integration tests, the end-to-end smoke test of the release binary,
# the tritonclient interoperability tests (KServe v2 + binary tensors, in a venv),
# and the deployment checks (Dockerfile, manifests, alert rules, dashboard metric names, runtime libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product dyserve
swift test
bash scripts/smoke.sh
bash scripts/interop.sh
bash scripts/check-deploy.sh
