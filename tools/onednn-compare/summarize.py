#!/usr/bin/env python3
"""Tables from run.sh's raw outputs (t<T>-p<P>-v<2|3>.txt, conv_bench.c's format), in Markdown.

For each thread count: the chain (one pass of all convolutions) and the sum of per-layer medians for
oneDNN 2.x and 3.x, as the median over pairs of each run's median with the min..max over pairs, and
the ratio 3.x / 2.x computed within each pair (the two runs of a pair ran back to back) then
summarised the same way; below 1 means 3.x is faster. With dyserve runs (t<T>-p<P>-dyserve.json, `dyserve
bench --json`), the whole network's median as the engine runs it and the chain's share of it. Then per
layer kind and per layer, and a check that both versions computed the same outputs (per-layer output sums).
"""
import glob
import json
import os
import re
import statistics
import sys


def parse(path):
    run = {"layers": {}, "order": []}
    for line in open(path):
        f = line.split()
        if f[0] == "version":
            run["version"], run["isa"] = f[1], f[3]
        elif f[0] == "layer":
            run["layers"][f[1]] = {"impl": f[2], "ns": float(f[3]), "sum": float(f[4])}
            run["order"].append(f[1])
        elif f[0] == "chain":
            run["chain"] = float(f[1])
    return run


def spread(values, digits=2):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}..{max(values):.{digits}f})"


def ratios(old, new):
    """Per-pair 3.x / 2.x: median (min..max), and in how many pairs 3.x was faster."""
    r = [y / x for x, y in zip(old, new)]
    return f"{spread(r, 3)} | {sum(v < 1 for v in r)}/{len(r)} |"


def kind(name):
    for k in ("stem", "dw", "expand", "project", "head"):
        if k in name.split("."):
            return k
    return "other"


def main(directory):
    runs = {}
    for path in glob.glob(os.path.join(directory, "t*-p*-v*.txt")):
        t, p, v = re.match(r"t(\d+)-p(\d+)-v(\d)\.txt", os.path.basename(path)).groups()
        runs.setdefault(int(t), {}).setdefault(int(p), {})[v] = parse(path)
    for path in glob.glob(os.path.join(directory, "t*-p*-dyserve.json")):
        t, p = re.match(r"t(\d+)-p(\d+)-dyserve\.json", os.path.basename(path)).groups()
        try:
            runs.setdefault(int(t), {}).setdefault(int(p), {})["dyserve"] = json.load(open(path))["median_ms"]
        except (ValueError, KeyError):
            pass  # still being written, or failed: left out like an incomplete pair
    if not runs:
        sys.exit(f"summarize.py: no results in {directory}")
    for t in sorted(runs):
        # Complete pairs only (a run still being written has no chain line yet).
        pairs = [pair for pair in runs[t].values() if all("chain" in pair.get(v, {}) for v in "23")]
        a, b = pairs[0]["2"], pairs[0]["3"]
        order = a["order"]
        print(f"\n### {t} thread(s): oneDNN {a['version']} vs {b['version']} ({a['isa']}), {len(pairs)} pairs\n")
        print("| | 2.x ms | 3.x ms | 3.x / 2.x (per pair) | 3.x faster in |")
        print("|---|---|---|---|---|")
        chain2 = [p["2"]["chain"] / 1e6 for p in pairs]
        chain3 = [p["3"]["chain"] / 1e6 for p in pairs]
        print(f"| chain (whole pass) | {spread(chain2)} | {spread(chain3)} | {ratios(chain2, chain3)}")
        sum2 = [sum(l["ns"] for l in p["2"]["layers"].values()) / 1e6 for p in pairs]
        sum3 = [sum(l["ns"] for l in p["3"]["layers"].values()) / 1e6 for p in pairs]
        print(f"| sum of layer medians | {spread(sum2)} | {spread(sum3)} | {ratios(sum2, sum3)}")
        engine = [(p["dyserve"], c) for p, c in zip(pairs, chain2) if "dyserve" in p]
        if engine:
            share = [c / d for d, c in engine]
            print(f"| dyserve bench, whole network (2.x) | {spread([d for d, _ in engine])} | | chain 2.x / dyserve: "
                  f"{spread(share, 3)} | {len(engine)} runs |")
        for k in ("stem", "dw", "expand", "project", "head"):
            names = [n for n in order if kind(n) == k]
            k2 = [sum(p["2"]["layers"][n]["ns"] for n in names) / 1e6 for p in pairs]
            k3 = [sum(p["3"]["layers"][n]["ns"] for n in names) / 1e6 for p in pairs]
            print(f"| {k} ({len(names)} layers) | {spread(k2)} | {spread(k3)} | {ratios(k2, k3)}")
        print("\n| layer | 2.x impl | 3.x impl | 2.x us | 3.x us | 3.x / 2.x (per pair) | 3.x faster in |")
        print("|---|---|---|---|---|---|---|")
        for n in order:
            x = [p["2"]["layers"][n]["ns"] / 1e3 for p in pairs]
            y = [p["3"]["layers"][n]["ns"] / 1e3 for p in pairs]
            print(f"| {n} | {a['layers'][n]['impl']} | {b['layers'][n]['impl']} | {statistics.median(x):.0f} | "
                  f"{statistics.median(y):.0f} | {ratios(x, y)}")
        worst = max(abs(b["layers"][n]["sum"] - a["layers"][n]["sum"]) / max(abs(a["layers"][n]["sum"]), 1.0)
                    for n in order)
        print(f"\nSame outputs: largest relative difference of a layer's output sum, 3.x against 2.x: {worst:.2e}")


if __name__ == "__main__":
    main(sys.argv[1])
