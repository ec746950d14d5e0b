#!/usr/bin/env bash
# Compares oneDNN 2.6.3 (Debian 12's libdnnl-dev, what the engine links) with oneDNN 3.2 (PyPI's
# onednn-cpu-gomp 2023.2.0, built for GNU OpenMP) on a network's convolutions, as the fast engine runs
# them: builds conv_bench.c against each, then runs the two binaries in turn, PAIRS times per thread
# count (alternating which goes first), so machine noise falls on both. Prints summarize.py's tables.
#
#   bash tools/onednn-compare/run.sh
#   ONEDNN_COMPARE_PAIRS=20 ONEDNN_COMPARE_ROUNDS=50 ONEDNN_COMPARE_THREADS="1 2" \
#     ONEDNN_COMPARE_MODEL=models/mobilenetv2/model.json bash tools/onednn-compare/run.sh
#
# ONEDNN_COMPARE_AUTOGROUP_NICE=-20 (root only) runs each benchmark in its own session with that nice
# value on its scheduler autogroup: with kernel.sched_autogroup_enabled=1 the CPU is shared between
# sessions, so a plain `nice` does nothing against other sessions' compilers, and two OpenMP threads
# that keep losing their core spend most of a pass waiting for each other. It borrows the cores from
# everything else for the run's minutes; without it, run on a quiet machine.
#
# ONEDNN_COMPARE_SKIP=TEXT: both builds take oneDNN's first implementation whose name does not contain
# TEXT ("br": 3.x's brgemm kernels brgconv / brdgmm, to time 3.x's copies of the kernels 2.x picks).
#
# ONEDNN_COMPARE_DYSERVE=PATH (a release dyserve): each pair also runs `dyserve bench --json` on the
# same model and thread count (same rounds and warmup), so the tables set the convolutions against the
# whole network as the engine runs it (on 2.6.3).
#
# Needs a C compiler ($CC, default cc), libdnnl-dev (scripts/install-deps.sh) and PyPI; installs the 3.2 wheels in a venv at
# ~/.cache/dyserve/onednn3 (headers in include/, libdnnl.so.3 in lib/), builds and keeps raw outputs there.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pairs="${ONEDNN_COMPARE_PAIRS:-10}"
rounds="${ONEDNN_COMPARE_ROUNDS:-30}"
warmup="${ONEDNN_COMPARE_WARMUP:-5}"
threads="${ONEDNN_COMPARE_THREADS:-1 2}"
model="${ONEDNN_COMPARE_MODEL:-$root/models/mobilenetv2/model.json}"
autogroup_nice="${ONEDNN_COMPARE_AUTOGROUP_NICE:-}"
export CONV_BENCH_SKIP="${ONEDNN_COMPARE_SKIP:-}"
dyserve="${ONEDNN_COMPARE_DYSERVE:-}"
venv="$HOME/.cache/dyserve/onednn3"
wheels=(onednn-cpu-gomp==2023.2.0 onednn-devel-cpu-gomp==2023.2.0)

cc="${CC:-cc}"
for need in "$cc" python3; do
    command -v "$need" >/dev/null || { echo "run.sh: $need not found (a C compiler and python3 with venv are needed)" >&2; exit 1; }
done
[ -f /usr/include/oneapi/dnnl/dnnl.h ] || { echo "run.sh: libdnnl-dev (oneDNN 2.x) not installed (bash scripts/install-deps.sh)" >&2; exit 1; }
if [ ! -f "$venv/include/oneapi/dnnl/dnnl.h" ] || [ ! -e "$venv/lib/libdnnl.so.3" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "${wheels[@]}"
fi

build="$venv/bench"
out="$build/results-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
python3 "$here/layers.py" "$model" >"$build/layers.txt"
"$cc" -O2 -Wall -Wextra -Werror -o "$build/conv_bench-2" "$here/conv_bench.c" -ldnnl -lm
"$cc" -O2 -Wall -Wextra -Werror -I"$venv/include" -o "$build/conv_bench-3" "$here/conv_bench.c" \
    -L"$venv/lib" -Wl,-rpath,"$venv/lib" -ldnnl -lm

echo "model $model: $(wc -l <"$build/layers.txt") convolutions; $pairs pairs x $rounds rounds (+$warmup warmup) per thread count;${autogroup_nice:+ autogroup nice $autogroup_nice;}${CONV_BENCH_SKIP:+ skipping implementations named *$CONV_BENCH_SKIP*;} raw outputs in $out" >&2
for ((p = 1; p <= pairs; p++)); do
    for t in $threads; do
        order="2 3"
        ((p % 2 == 0)) && order="3 2"
        runs=($order)
        [ -n "$dyserve" ] && runs+=(dyserve)
        for v in "${runs[@]}"; do
            if [ "$v" = dyserve ]; then
                command=("$dyserve" bench --model "$(basename "$(dirname "$model")")" --models-dir "$(dirname "$(dirname "$model")")"
                         --threads "$t" --iterations "$rounds" --warmup "$warmup" --json)
                result="$out/t$t-p$p-dyserve.json"
            else
                command=("$build/conv_bench-$v" "$build/layers.txt" "$rounds" "$warmup")
                result="$out/t$t-p$p-v$v.txt"
            fi
            if [ -n "$autogroup_nice" ]; then
                OMP_NUM_THREADS="$t" setsid --wait bash -c 'echo "$0" >/proc/self/autogroup && exec "$@"' \
                    "$autogroup_nice" "${command[@]}" >"$result"
            else
                OMP_NUM_THREADS="$t" "${command[@]}" >"$result"
            fi
        done
    done
    echo "pair $p/$pairs done $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
python3 "$here/summarize.py" "$out"
