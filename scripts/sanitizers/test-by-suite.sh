#!/usr/bin/env bash
# The whole Swift test suite under a sanitizer, one suite at a time with --no-parallel
# (docs/fuzzing.md, "Sanitizers on the Swift test suite").
#
#   scripts/sanitizers/test-by-suite.sh address|thread [OUT_DIR] [SUITE_REGEX]
#
# Needs the sanitizer build first: swift build --build-tests --sanitize=<name> --scratch-path .build-<asan|tsan>.
# Why one suite at a time: Swift Testing starts every test of a run at once, and under a sanitizer's
# slowdown on a small machine many then miss their 30 s waits; one process per suite also keeps one
# AddressSanitizer abort from hiding the suites after it, and gives LeakSanitizer a check per suite.
# Writes OUT_DIR/<suite>.log for each suite and OUT_DIR/summary.tsv (suite, tests, seconds, exit
# status, sanitizer reports, failed tests); exits 1 if any suite failed or printed a sanitizer report.
set -uo pipefail
cd "$(dirname "$0")/../.."

sanitizer=${1:?usage: $0 address|thread [OUT_DIR] [SUITE_REGEX]}
case "$sanitizer" in
    address) scratch=.build-asan
             # Leaks inside the toolchain's libraries and LSan's false positives, each explained in the file.
             export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" ;;
    thread)  scratch=.build-tsan
             # Reports that come from libgomp not being instrumented, explained in the file.
             export TSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}" ;;
    *) echo "unknown sanitizer '$sanitizer' (address or thread)" >&2; exit 64 ;;
esac
out=${2:-/tmp/dyserve-$sanitizer-suites}
only=${3:-.}
mkdir -p "$out"

swift test list --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" > "$out/list.txt" \
    || { echo "swift test list failed (is $scratch built with --build-tests?)" >&2; exit 1; }
# A test's ID is Module.Suite/test() (nested suites add /Inner); the suite is everything before the first '/'.
mapfile -t suites < <(grep '/' "$out/list.txt" | cut -d/ -f1 | sort | uniq | grep -E -- "$only")
printf 'suite\ttests\tseconds\tstatus\tsanitizer_reports\tfailed_tests\n' > "$out/summary.tsv"

failed=0
for suite in "${suites[@]}"; do
    tests=$(grep -c "^$suite/" "$out/list.txt")
    pattern="${suite//./\\.}/"
    start=$(date +%s)
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --no-parallel \
        --filter "$pattern" > "$out/$suite.log" 2>&1
    status=$?
    seconds=$(( $(date +%s) - start ))
    reports=$(grep -cE '^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: (Address|Leak)Sanitizer)' "$out/$suite.log")
    failing=$(sed -nE 's/.*Test (.*) failed after.*/\1/p' "$out/$suite.log" | sort -u | paste -sd, -)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$suite" "$tests" "$seconds" "$status" "$reports" "${failing:--}" \
        | tee -a "$out/summary.tsv"
    if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ]; then failed=1; fi
done
exit $failed
