#!/usr/bin/env bash
# The whole test suite: Swift unit and integration tests, the end-to-end smoke test of the release binary,
# SIGTERM during a burst (every accepted request answered, exit 0), the tritonclient interoperability
# tests (KServe v2 + binary tensors, in a venv),
# the deployment checks (Dockerfile, manifests, alert rules, dashboard metric names, runtime libraries),
# and the attention explorer page in headless Chromium (screenshots in test-output/browser/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product dyserve
swift test
bash scripts/smoke.sh
bash scripts/shutdown-test.sh
bash scripts/interop.sh
bash scripts/check-deploy.sh
bash scripts/browser-test.sh
