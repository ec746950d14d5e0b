#!/usr/bin/env bash
# Builds the release binary and serves the shipped models (config/dyserve.yaml) on 127.0.0.1:8080.
# Extra arguments go to `dyserve serve`, e.g. `bash scripts/serve.sh --port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product dyserve
exec .build/release/dyserve serve --config config/dyserve.yaml "$@"
