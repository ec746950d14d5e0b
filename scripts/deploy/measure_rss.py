"""Measures the resident memory of the release binary serving every shipped model: idle after
start-up, and the high-water mark after a burst of concurrent requests on every model with traces
stored (and returned inline). These figures size the Deployment's memory request and limit.

  python3 scripts/deploy/measure_rss.py [--binary .build/release/dyserve] [--burst 64] [--concurrency 8]
"""
import argparse
import concurrent.futures
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_binary import ServedBinary  # noqa: E402


def request_body(model, shape, rng):
    batch = [1 if d < 0 else d for d in shape]
    count = 1
    for d in batch:
        count *= d
    return json.dumps({"model": model, "input": {"shape": batch, "data": [rng.random() for _ in range(count)]},
                       "trace": "full", "return_trace": True}).encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/dyserve")
    parser.add_argument("--config", default="config/dyserve.yaml")
    parser.add_argument("--burst", type=int, default=64, help="requests per model")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(0)
    with ServedBinary(os.path.abspath(args.binary), config=args.config) as served:
        models = json.loads(served.get("/models"))
        models = models.get("models", models) if isinstance(models, dict) else models
        idle_rss, idle_hwm = served.resident_kib()
        bodies = []
        for model in models:
            name = model["name"]
            shape = model["inputs"][0]["shape"]
            body = request_body(name, shape, rng)
            bodies += [(name, body)] * args.burst
        rng.shuffle(bodies)
        codes = {}
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            for code, _ in pool.map(lambda item: served.post_json("/infer", item[1]), bodies):
                codes[code] = codes.get(code, 0) + 1
        burst_rss, burst_hwm = served.resident_kib()
    print(json.dumps({
        "models": [m["name"] for m in models],
        "idle_rss_mib": round(idle_rss / 1024, 1), "idle_hwm_mib": round(idle_hwm / 1024, 1),
        "after_burst_rss_mib": round(burst_rss / 1024, 1), "burst_hwm_mib": round(burst_hwm / 1024, 1),
        "requests": len(bodies), "concurrency": args.concurrency, "status_codes": codes,
    }, indent=1))


if __name__ == "__main__":
    main()
