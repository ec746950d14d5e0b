#!/usr/bin/env bash
# Interleaved A/B of the server's CPU time per request: runs `cost-per-request.sh` against two (or
# more) release binaries in turn, pair after pair (the order flips every pair: A B, B A, ...), and
# prints each run's figures and then, per binary, the medians of req/s and of CPU us/request per
# thread and of context switches per request. CPU time per request survives other load on the
# machine far better than req/s does; the interleaving spreads slow phases over both sides.
#
# Usage: bash scripts/loadtest/cost-ab.sh PAIRS LABEL=BINARY[@CHECKOUT] LABEL=BINARY[@CHECKOUT] [...]
#   e.g. bash scripts/loadtest/cost-ab.sh 6 main=/tmp/dyserve-main branch=.build/release/dyserve
#   @CHECKOUT runs that binary from another checkout, with its own config/dyserve.yaml and
#   cost-per-request.sh (an old commit's binary refuses configuration keys added since).
# COST_AB_ARGS (default "8 32 5") are cost-per-request.sh's arguments (max batch size,
# connections, seconds). COST_AB_AUTOGROUP_NICE=-20 (root only) runs each run in its own session
# with that nice value on its scheduler autogroup, so other sessions' compilers take less of the
# cores (with autogroups a plain `nice` does nothing against other sessions). Raw outputs are kept
# in COST_AB_OUT (default: a new directory under /tmp, printed).
set -euo pipefail
cd "$(dirname "$0")/../.."

(($# >= 3)) || { sed -n '2,/^set -e/p' "$0" | grep '^#' >&2; exit 2; }
pairs=$1
shift
labels=()
bins=()
dirs=()
for spec in "$@"; do
    [[ $spec == *=* ]] || { echo "cost-ab: expected LABEL=BINARY[@CHECKOUT], got '$spec'" >&2; exit 2; }
    labels+=("${spec%%=*}")
    binary=${spec#*=}
    dir=.
    [[ $binary == *@* ]] && { dir=${binary#*@}; binary=${binary%%@*}; }
    bins+=("$(realpath "$binary")")
    dirs+=("$(realpath "$dir")")
    [[ -x ${bins[-1]} ]] || { echo "cost-ab: ${bins[-1]} is not an executable" >&2; exit 2; }
    [[ -f ${dirs[-1]}/scripts/loadtest/cost-per-request.sh ]] || { echo "cost-ab: ${dirs[-1]} is not a dyserve checkout" >&2; exit 2; }
done
args=${COST_AB_ARGS:-8 32 5}
nice_value=${COST_AB_AUTOGROUP_NICE:-}
out=${COST_AB_OUT:-$(mktemp -d /tmp/cost-ab.XXXXXX)}
mkdir -p "$out"
echo "cost-ab: $pairs pairs of cost-per-request.sh $args; raw outputs in $out" >&2

run() {  # label binary checkout pair
    local file="$out/$1-$4.txt" script="$3/scripts/loadtest/cost-per-request.sh"
    # shellcheck disable=SC2086 # $args is a list of words
    if [[ -n $nice_value ]]; then
        LOADTEST_BIN=$2 setsid --wait bash -c 'echo "$0" >/proc/self/autogroup && exec "$@"' \
            "$nice_value" bash "$script" $args >"$file"
    else
        LOADTEST_BIN=$2 bash "$script" $args >"$file"
    fi
    echo "$1 #$4: $(grep -o 'requests=[0-9]*' "$file") $(grep 'all threads' "$file" | tr -s ' ')"
}

n=${#labels[@]}
for ((p = 1; p <= pairs; p++)); do
    for ((i = 0; i < n; i++)); do
        ((p % 2 == 1)) && k=$i || k=$((n - 1 - i))
        run "${labels[k]}" "${bins[k]}" "${dirs[k]}" "$p"
    done
done

# Medians per label: req/s and p99 from wrk's RESULT line, then every "name cpu X us/req context switches Y /req" line.
for label in "${labels[@]}"; do
    cat "$out/$label"-*.txt | awk -v label="$label" '
        function median(list,   v, m, i, j, t) {
            m = split(list, v, " ")
            for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
            return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        }
        /^RESULT/ { match($0, /rps=[0-9]+/); rps = rps " " substr($0, RSTART + 4, RLENGTH - 4); runs++
                    if (match($0, /p99_ms=[0-9.]+/)) p99 = p99 " " substr($0, RSTART + 7, RLENGTH - 7) }
        / cpu / { name = $1; for (f = 2; $f != "cpu"; f++) name = name " " $f
                  if (!(name in cpu)) order[++names] = name
                  cpu[name] = cpu[name] " " $(f + 1); cs[name] = cs[name] " " $(f + 5) }
        END { printf "%s: %d runs, median req/s %.0f%s\n", label, runs, median(rps), p99 == "" ? "" : sprintf(", median p99 %.2f ms", median(p99))
              for (k = 1; k <= names; k++) printf "  %-20s cpu %6.1f us/req  context switches %5.2f /req  (median of %d)\n",
                  order[k], median(cpu[order[k]]), median(cs[order[k]]), split(cpu[order[k]], tmp, " ") }'
done
