#!/usr/bin/env bash
# Coverage-guided fuzzing of the request and file parsers with libFuzzer (docs/fuzzing.md).
#
#   bash scripts/fuzz.sh                  # every target for FUZZ_SECONDS (default 30) each
#   bash scripts/fuzz.sh FuzzNpy          # named targets only
#   FUZZ_RUNS=1000000 bash scripts/fuzz.sh   # a fixed number of executions per target instead
#
# The targets (Tests/Fuzz/<Target>) are declared in Package.swift only when DYSERVE_FUZZ is set,
# and built with libFuzzer and AddressSanitizer into their own scratch path, so the ordinary build
# and `swift test` never compile them. Each run starts from the committed seeds
# (Tests/Fuzz/corpus/<Target>) plus what earlier runs found (.build-fuzz/corpus/<Target>, kept
# out of git). A crash, sanitizer report, broken property, timeout or memory blow-up fails the
# script and leaves the input in test-output/fuzz/; replay it with
# `.build-fuzz/debug/<Target> <file>`, then make it a regression test in the Swift test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(FuzzInferJSON FuzzV2Body FuzzTensorShape FuzzNpy FuzzSafeTensors FuzzModelJSON FuzzContentCoding)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
seconds=${FUZZ_SECONDS:-30}
runs=${FUZZ_RUNS:-}
scratch=.build-fuzz
artifacts=test-output/fuzz
mkdir -p "$artifacts"

export DYSERVE_FUZZ=1
# One build for all targets (the manifest leaves the service's executable out in this mode).
swift build --sanitize fuzzer --sanitize address --scratch-path "$scratch" 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol"

# Leak checking stays on: a parser that leaks per request is a finding too.
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1)
if [[ -n "$runs" ]]; then budget=(-runs="$runs"); what="$runs runs"; else budget=(-max_total_time="$seconds"); what="$seconds s"; fi

failed=()
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    echo "== $target ($what)"
    status=0
    "$scratch/debug/$target" "${budget[@]}" "${limits[@]}" -artifact_prefix="$artifacts/$target-" \
        "$corpus" "Tests/Fuzz/corpus/$target" > "$artifacts/$target.log" 2>&1 || status=$?
    grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|fuzz property|==[0-9]+==ERROR|Test unit written|artifact_prefix)" \
        "$artifacts/$target.log" || true
    [[ $status -eq 0 ]] || failed+=("$target")
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: failures in ${failed[*]}; inputs and logs in $artifacts/" >&2
    exit 1
fi
echo "fuzz: ${targets[*]}: no failures"
