#!/usr/bin/env bash
# End-to-end smoke test of the release binary: start `dyserve serve`, run the curl calls the README shows,
# check every answer (status and content), send the held-out digits through /infer and compare the served
# accuracy with the one the training script reported, then stop the server with SIGTERM.
# Assumes `swift build -c release --product dyserve` has run (scripts/test.sh does it).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=.build/release/dyserve
[ -x "$binary" ] || { echo "smoke: $binary not built; run: swift build -c release --product dyserve" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
workdir=$(mktemp -d)
log="$workdir/serve.log"
"$binary" serve --config config/dyserve.yaml --port "$port" >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$workdir"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check NAME EXPECTED_STATUS ACTUAL_STATUS [PYTHON_ASSERTION_ON_BODY]
    local name=$1 expected=$2 actual=$3 assertion=${4:-True}
    if [ "$actual" = "$expected" ] && python3 scripts/smoke/assert_json.py "$workdir/body" "$assertion"; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name: status $actual (expected $expected), body: $(head -c 300 "$workdir/body")"
    fi
}
call() { curl -s -o "$workdir/body" -w '%{http_code}' "$@"; }

for _ in $(seq 1 600); do
    [ "$(call "$base/readyz" || true)" = 200 ] && break
    kill -0 "$server" 2>/dev/null || { echo "smoke: server exited:"; cat "$log"; exit 1; }
    sleep 0.2
done
grep -q "dyserve listening on http://127.0.0.1:$port" "$log" || { echo "smoke: no listening line"; cat "$log"; exit 1; }

python3 scripts/smoke/make_inputs.py Tests/DyNNTests/Fixtures/digits-heldout/inputs.npy "$workdir"

check "GET /healthz" 200 "$(call "$base/healthz")"
check "GET /readyz" 200 "$(call "$base/readyz")" 'body["ready"] is True'
check "GET /models lists the shipped models" 200 "$(call "$base/models")" \
    '{m["name"] for m in body["models"]} >= {"dy-digits", "dy-mobilenetv2", "mobilenetv2"}'
check "POST /infer (JSON)" 200 "$(call "$base/infer" -H 'Content-Type: application/json' -d @"$workdir/digit.json")" \
    'body["top_k"][0][0]["label"] == "2" and body["outputs"][0]["shape"] == [1, 10] and body["timing_us"]["total"] > 0'
id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$workdir/body")
check "GET /attention?id= (attention pi per dynamic conv)" 200 "$(call "$base/attention?id=$id")" \
    'len(body["layers"]) == 3 and all(abs(sum(l["attention"]["pi"][0]) - 1) < 1e-5 for l in body["layers"])'
check "GET /attention (recent requests)" 200 "$(call "$base/attention")" "any(r[\"id\"] == \"$id\" for r in body[\"requests\"])"
check "POST /infer full trace inline, temperature 30" 200 \
    "$(call "$base/infer" -d "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.update(trace="full", return_trace=True, temperature=30); print(json.dumps(d))' "$workdir/digit.json")")" \
    'any(l.get("activation") for l in body["trace"]["layers"])'
check "POST /infer (.npy body)" 200 \
    "$(call "$base/infer?model=dy-digits" -H 'Content-Type: application/x-npy' --data-binary @"$workdir/digit.npy")" \
    'body["top_k"][0][0]["label"] == "2"'
check "POST /infer (raw FP32 + X-Tensor-Shape)" 200 \
    "$(call "$base/infer?model=dy-digits" -H 'Content-Type: application/octet-stream' -H 'X-Tensor-Shape: 1,1,8,8' --data-binary @"$workdir/digit.f32")" \
    'body["top_k"][0][0]["label"] == "2"'
check "400 wrong shape names it" 400 "$(call "$base/infer" -d '{"model": "dy-digits", "input": [[[1,2,3,4,5,6,7,8]]]}')" \
    '"does not match [-1,1,8,8]" in body["error"]'
check "400 malformed JSON" 400 "$(call "$base/infer" -d '{"model": "dy-digits", "input": [')" '"error" in body'
check "404 unknown model" 404 "$(call "$base/infer" -d '{"model": "nope", "input": [1]}')" '"nope" in body["error"]'
check "404 unknown path" 404 "$(call "$base/nowhere")" '"error" in body'
check "404 unknown trace id" 404 "$(call "$base/attention?id=does-not-exist")" '"error" in body'
check "405 wrong method" 405 "$(call -X DELETE "$base/infer")" '"error" in body'
check "415 unsupported content type" 415 "$(call "$base/infer?model=dy-digits" -H 'Content-Type: text/csv' -d '1,2')" '"error" in body'
check "413 body over the limit" 413 \
    "$(call "$base/infer" -H 'Content-Type: application/json' -H 'Content-Length: 1099511627776' -d '{}' || true)" '"error" in body'
check "still healthy after bad input" 200 "$(call "$base/healthz")"
check "held-out digits: served predictions equal the training script's" 200 \
    "$(call "$base/infer?model=dy-digits&top_k=1" -H 'Content-Type: application/x-npy' --data-binary @Tests/DyNNTests/Fixtures/digits-heldout/inputs.npy)" \
    "[s[0][\"index\"] for s in body[\"top_k\"]] == expected(\"Tests/DyNNTests/Fixtures/digits-heldout/expected.json\")[\"predictions\"]"
check "GET /metrics" 200 "$(call "$base/metrics")" \
    'text.count("dyserve_requests_total{") >= 2 and "dyserve_request_duration_seconds_bucket" in text'

kill -TERM "$server"
if wait "$server"; then passed=$((passed + 1)); echo "ok   SIGTERM stops the server with status 0"
else failed=$((failed + 1)); echo "FAIL SIGTERM exit status $?"; fi
trap 'rm -rf "$workdir"' EXIT

# A model named in inference.fp16_experts that is not served stops the start-up with a clear error.
if DYSERVE_INFERENCE_FP16_EXPERTS=no-such-model timeout 30 "$binary" serve --config config/dyserve.yaml --port 0 >"$log" 2>&1; then
    failed=$((failed + 1)); echo "FAIL fp16_experts naming an unknown model: the server started"
elif grep -q "inference.fp16_experts names 'no-such-model'" "$log"; then
    passed=$((passed + 1)); echo "ok   fp16_experts naming an unknown model stops start-up and names it"
else
    failed=$((failed + 1)); echo "FAIL fp16_experts naming an unknown model: $(head -c 300 "$log")"
fi

# A model that fails to load stops `serve` with status 1 and the model's error, not the usage text.
broken="$workdir/broken-models/broken"
mkdir -p "$broken"
cp models/dy-digits/model.json "$broken/model.json"
ln -s /etc/passwd "$broken/weights.safetensors"
set +e
timeout 30 "$binary" serve --config config/dyserve.yaml --port 0 --models-dir "$workdir/broken-models" >"$log" 2>&1
status=$?
set -e
if [ "$status" -eq 1 ] && ! grep -qi "usage:" "$log" && grep -q "outside" "$log" && ! grep -q "root:" "$log"; then
    passed=$((passed + 1)); echo "ok   a model that fails to load exits 1 with its error (symlink out of the folder refused)"
else
    failed=$((failed + 1)); echo "FAIL failing model: exit $status, log: $(head -c 400 "$log")"
fi

echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
