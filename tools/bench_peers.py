#!/usr/bin/env python3
"""dyserve against PyTorch eager and ONNX Runtime on the same networks, same weights, same input.

    /work/venv-torch/bin/python tools/bench_peers.py [--threads 2] [--rounds 5] [--iterations 20] ...

For `mobilenetv2`, `dy-mobilenetv2`, `dyrelu-mobilenetv2` and `dyrelu-c-mobilenetv2` (the graphs in
models/; `--models` picks some), this script
  1. builds the network in PyTorch (the reference modules of tools/dyserve-export) with seeded random weights drawn in
     PyTorch, batch norms with non-trivial statistics;
  2. exports it to our format in a temporary directory (model.json + weights.safetensors, batch norms
     unfolded: dyserve's loader folds them);
  3. rewrites the BN-folded graph into export-friendly modules (tools/onnx_export.py) for PyTorch eager
     and for an ONNX export at batch 1, where a dynamic convolution's aggregated kernel is a computed
     input of its Conv;
  4. checks that the reference graph, the export-friendly module, ONNX Runtime and `dyserve run` give
     the same output on the same input (max abs difference printed) before timing anything;
     networks with DY-ReLU get their batch norm statistics measured on random inputs first
     (tools/calibrate_batch_norm.py), as the shipped ones do, so their activations stay in range;
  5. in R rounds, alternating engines (the order rotates every round), measures each configuration:
     dyserve with `dyserve bench --json` (in-process timing, its own process), PyTorch eager under
     `torch.inference_mode()` with `torch.set_num_threads(T)`, ONNX Runtime with T intra-op threads and
     all graph optimisations;
  6. prints a table of medians and the ratios the issue's targets are stated in.

`condconv` (timm's CondConv EfficientNet-B0, the architecture of models/condconv-efficientnet-b0) and
its static anchor `effnet-b0` are prepared by tools/peers_condconv.py (exported with dyserve-export,
PyTorch eager on the timm module itself); `--models` picks the kinds to compare.

Each configuration's figure is the median over rounds of the per-round median of `--iterations` timed
runs; the spread column is the smallest and largest per-round median. Needs torch, onnx, onnxruntime:
never run in CI. Nothing is written into the repository (use --keep DIR to keep the exported files).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "dyserve-export"))  # the reference package

from dyserve_export.reference import (Activation, Add, AttentionMLP, BatchNorm, Conv2d, DynamicConv2d,  # noqa: E402
                                      DyReLU, Flatten, Geometry, GlobalAvgPool, Graph, Linear, ModelInfo, Normalize,
                                      Softmax, TensorSpec, hidden_size)
from export import folded, save  # noqa: E402
from onnx_export import ExportGraph, check_close, conv_weight_sources, export  # noqa: E402
from peers_condconv import CONDCONV_MODELS, prepare_condconv, print_condconv_ratios  # noqa: E402
import peers_served  # noqa: E402
from calibrate_batch_norm import calibrate, model_info, random_images  # noqa: E402

MODELS = {"static": "mobilenetv2", "dynamic": "dy-mobilenetv2"}
# Seeds of the PyTorch weights; the model.json seeds are not used (those weights are SplitMix64's).
WEIGHT_SEEDS = {"mobilenetv2": 11, "dy-mobilenetv2": 12}
# MobileNetV2 with every ReLU6 replaced by DY-ReLU-B / DY-ReLU-C (issue 14).
MODELS.update({"dyrelu": "dyrelu-mobilenetv2", "dyrelu-c": "dyrelu-c-mobilenetv2"})
WEIGHT_SEEDS.update({"dyrelu-mobilenetv2": 13, "dyrelu-c-mobilenetv2": 14})
INPUT_SEED = 7
# A short pause between engines, so threads one engine left spinning (OpenMP, ORT) do not steal a core
# from the next one's first iterations.
SETTLE_SECONDS = 0.3


# ---------------------------------------------------------------------------------------------------
# The network in PyTorch, from a model.json's graph, with weights drawn in PyTorch


def module_name(name: str) -> str:
    """torch's ModuleDict refuses dots in names (`block1.dw.conv`); the exported copy uses underscores."""
    return name.replace(".", "_")


def random_graph(doc: dict, seed: int) -> Graph:
    """A reference Graph with `doc`'s nodes and seeded random weights (inference mode)."""
    gen = torch.Generator().manual_seed(seed)
    graph = Graph(model_info(doc))
    channels = {s["name"]: s["shape"][1] for s in doc["inputs"]}
    for entry in doc["nodes"]:
        op, attrs, roles = entry["op"], entry.get("attrs", {}), entry.get("weights", {})
        inputs = [module_name(source) for source in entry["inputs"]]
        c = channels[inputs[0]]
        if op == "dynamic_conv2d":
            g = Geometry.from_attrs(attrs)
            node = DynamicConv2d(c, attrs["out_channels"], g.kernel, g.stride, g.padding, g.dilation, g.groups,
                                 attrs["experts"], attrs.get("routing", "softmax"), attrs.get("temperature"),
                                 attrs.get("reduction", 4), attrs.get("min_hidden", 4), bias="bias" in roles,
                                 gen=gen)
            hidden = hidden_size(c, node.reduction, node.min_hidden)
            node.attention = AttentionMLP(c, hidden, node.experts, "fc1_bias" in roles, "fc2_bias" in roles, gen)
            out = attrs["out_channels"]
        elif op == "conv2d":
            g = Geometry.from_attrs(attrs)
            node = Conv2d(c, attrs["out_channels"], g.kernel, g.stride, g.padding, g.dilation, g.groups,
                          bias="bias" in roles, gen=gen)
            out = attrs["out_channels"]
        elif op == "batch_norm":
            node = BatchNorm(c, attrs.get("eps", 1e-5)).randomize(gen)
            out = c
        elif op == "linear":
            node = Linear(c, attrs["out_features"], bias="bias" in roles, gen=gen)
            out = attrs["out_features"]
        elif op == "normalize":
            node, out = Normalize(attrs["mean"], attrs["std"]), c
        elif op in Activation.FUNCTIONS:
            node, out = Activation(op), c
        elif op == "add":
            node, out = Add(), c
        elif op == "global_avg_pool":
            node, out = GlobalAvgPool(), c
        elif op == "flatten":
            # Only after a global pool here: channels stay the feature count.
            node, out = Flatten(), c
        elif op == "softmax":
            node, out = Softmax(attrs.get("axis", 1)), c
        elif op == "dy_relu":
            node = DyReLU(c, attrs["variant"], attrs.get("pieces", 2), attrs.get("reduction", 8), attrs.get("min_hidden", 4),
                          attrs.get("lambda_a", 1.0), attrs.get("lambda_b", 0.5), attrs.get("alpha"), attrs.get("beta"),
                          attrs["layout"], attrs["squash"], attrs.get("spatial_tau", 10.0), attrs.get("spatial_gamma"),
                          hyper_bias="fc1_bias" in roles, spatial_bias="spatial_bias" in roles, gen=gen)
            out = c
        else:
            raise ValueError(f"node {entry['name']!r}: op {op!r} is not needed by the benchmark models")
        graph.add(module_name(entry["name"]), node, *inputs)
        channels[module_name(entry["name"])] = out
    graph.eval()
    if any(entry["op"] == "dy_relu" for entry in doc["nodes"]):
        # Unbounded activations: drawn statistics would let the scale grow block after block.
        calibrate(graph, random_images(doc, 4, seed))
    return graph


# ---------------------------------------------------------------------------------------------------
# Engines


def dyserve_binary(args) -> Path:
    if args.dyserve:
        return Path(args.dyserve)
    scratch = ["--scratch-path", args.scratch_path] if args.scratch_path else []
    subprocess.run(["swift", "build", "-c", "release", *scratch], cwd=REPO, check=True)
    bin_dir = subprocess.run(["swift", "build", "-c", "release", *scratch, "--show-bin-path"], cwd=REPO,
                             check=True, capture_output=True, text=True).stdout.strip()
    return Path(bin_dir) / "dyserve"


class Dyserve:
    def __init__(self, binary: Path, backend: str, threads: int):
        self.binary, self.backend, self.threads = binary, backend, threads

    def engine_args(self, experts=None):
        if self.backend == "reference":
            return ["--backend", "reference"]
        out = ["--backend", self.backend, "--threads", str(self.threads)]
        return out + (["--experts", experts] if experts else [])

    def supports(self, extra: list) -> bool:
        """Whether `dyserve bench` accepts these options (e.g. --backend fast before the fast engine lands)."""
        probe = subprocess.run([str(self.binary), "bench", "--model", str(REPO / "models" / "dy-digits"),
                                "--iterations", "1", "--warmup", "0", "--json", *extra],
                               capture_output=True, text=True)
        return probe.returncode == 0

    def run(self, model_dir: Path, x_path: Path, out_path: Path, experts=None) -> np.ndarray:
        """The output of the engine that is timed: `dyserve bench --input --output`, one pass."""
        subprocess.run([str(self.binary), "bench", "--model", str(model_dir), "--input", str(x_path),
                        "--output", str(out_path), "--iterations", "1", "--warmup", "0", "--json",
                        *self.engine_args(experts)], check=True, capture_output=True, text=True)
        return np.load(out_path)

    def bench(self, model_dir: Path, batch: int, iterations: int, warmup: int, experts=None) -> dict:
        out = subprocess.run([str(self.binary), "bench", "--model", str(model_dir), "--json", "--batch", str(batch),
                              "--iterations", str(iterations), "--warmup", str(warmup), *self.engine_args(experts)],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout)


def time_calls(fn, iterations: int, warmup: int) -> float:
    """Median wall time of `fn()` in ms (monotonic clock), after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------------------


def logits_node(graph: Graph) -> str:
    """The value a final softmax reads: probabilities of random networks are nearly flat, logits are not."""
    last = graph.info.outputs[0].node
    if isinstance(graph.nodes[last], Softmax):
        return graph.node_inputs[last][0]
    return last


def logits_copy(model_dir: Path, node: str, features: int, into: Path) -> Path:
    """The same model directory with its output moved to `node`, for dyserve's side of the check."""
    into.mkdir(parents=True, exist_ok=True)
    doc = json.loads((model_dir / "model.json").read_text())
    doc["outputs"] = [dict(doc["outputs"][0], name="logits", node=node, shape=[-1, features])]
    (into / "model.json").write_text(json.dumps(doc))
    # A hard link, not a symlink: the loader refuses weights that resolve outside the model directory.
    link = into / "weights.safetensors"
    if not link.exists():
        os.link(model_dir / "weights.safetensors", link)
    return into


def max_diff(got: np.ndarray, expected: np.ndarray) -> str:
    scale = float(np.abs(expected).max())
    return f"{float(np.abs(got - expected).max()):.2e} (of max |value| {scale:.3g})"


def prepare(kind: str, args, work: Path, dy: Dyserve, x: np.ndarray, x_path: Path) -> dict:
    """Build, export and cross-check one model; returns what the timing loop needs."""
    name = MODELS[kind]
    doc = json.loads((REPO / "models" / name / "model.json").read_text())
    graph = random_graph(doc, WEIGHT_SEEDS[name])
    model_dir = save(graph, work / name)
    logits = logits_node(graph)
    module = ExportGraph(folded(graph))
    checked = ExportGraph(folded(graph), extra=(logits,))
    xt = torch.from_numpy(x)
    diff_module = check_close(module, graph, xt)
    with torch.inference_mode():
        expected, expected_logits = (t.numpy() for t in checked(xt))
    onnx_path = export(checked, xt, work / f"{name}.onnx", output_names=("output", "logits"))
    sources = conv_weight_sources(onnx_path)
    session = ort_session(onnx_path, args.threads)
    ort_out, ort_logits = session.run(None, {"input": x})
    dy_out = dy.run(model_dir, x_path, work / f"{name}.out.npy")
    fp16_logits = None
    logits_dir = logits_copy(model_dir, logits, int(expected_logits.shape[1]), work / f"{name}-logits")
    dy_logits = dy.run(logits_dir, x_path, work / f"{name}.logits.npy")
    if dy.backend == "fast" and kind == "dynamic" and dy.supports(dy.engine_args("fp16")):
        fp16_logits = dy.run(logits_dir, x_path, work / f"{name}.logits16.npy", experts="fp16")
    print(f"{name}: dyserve backend {dy.backend}; {sum(p.numel() for p in graph.parameters()):,} parameters; ONNX Convs with constant weights "
          f"{sources['constant']}, with computed weights {sources['computed']}")
    print(f"  probabilities (max {expected.max():.4f}, top-1 class {int(expected.argmax())}), max abs diff vs "
          f"PyTorch eager: reference graph {diff_module:.2e}, ONNX Runtime {max_diff(ort_out, expected)}, "
          f"dyserve {max_diff(dy_out, expected)}")
    print(f"  logits ({logits}), max abs diff vs PyTorch eager: ONNX Runtime {max_diff(ort_logits, expected_logits)}, "
          f"dyserve {max_diff(dy_logits, expected_logits)}"
          + (f", dyserve fp16 experts {max_diff(fp16_logits, expected_logits)}" if fp16_logits is not None else ""))
    for label, got, want in (("ONNX Runtime", ort_out, expected), ("dyserve", dy_out, expected),
                             ("ONNX Runtime logits", ort_logits, expected_logits),
                             ("dyserve logits", dy_logits, expected_logits)):
        tolerance = args.atol * max(1.0, float(np.abs(want).max()))
        if not np.allclose(got, want, atol=tolerance, rtol=0):
            raise SystemExit(f"{name}: {label} differs from PyTorch by {np.abs(got - want).max()}")
        if int(got.argmax()) != int(want.argmax()):
            raise SystemExit(f"{name}: {label} predicts class {int(got.argmax())}, PyTorch {int(want.argmax())}")
    return {"name": name, "dir": model_dir, "module": module, "session": session}


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads of every engine (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--iterations", type=int, default=20, help="timed runs per engine per round (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per engine per round (default 3)")
    parser.add_argument("--batch8", type=int, default=8, help="the larger batch for dyserve throughput (default 8)")
    parser.add_argument("--backend", choices=["auto", "fast", "reference"], default="auto",
                        help="dyserve backend; auto = fast when this build has it, else reference")
    parser.add_argument("--dyserve", help="path of a release dyserve binary (default: swift build -c release)")
    parser.add_argument("--scratch-path", help="swift build --scratch-path when building dyserve")
    parser.add_argument("--atol", type=float, default=1e-4, help="output agreement required before timing")
    parser.add_argument("--keep", help="write the exported models / ONNX files here instead of a temp dir")
    parser.add_argument("--models", default=",".join([*MODELS, *CONDCONV_MODELS]),
                        help="comma-separated kinds to compare (default: static,dynamic,condconv,effnet-b0; "
                             "condconv and effnet-b0 are in tools/peers_condconv.py)")
    peers_served.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rounds < 1 or args.iterations < 1 or args.warmup < 0:
        parser.error("--threads, --rounds and --iterations must be >= 1, --warmup >= 0")
    kinds = args.models.split(",")
    unknown = [k for k in kinds if k not in MODELS and k not in CONDCONV_MODELS]
    if unknown or not kinds:
        parser.error(f"--models: unknown kind(s) {unknown}; choose from {[*MODELS, *CONDCONV_MODELS]}")

    torch.set_num_threads(args.threads)
    binary = dyserve_binary(args)
    dy = Dyserve(binary, "reference", args.threads)
    fast = Dyserve(binary, "fast", args.threads)
    if args.backend in ("auto", "fast"):
        if fast.supports(fast.engine_args()):
            dy = fast
        elif args.backend == "fast":
            raise SystemExit("this dyserve build has no fast backend (`dyserve bench --backend fast` fails)")
    fp16 = dy.backend == "fast" and dy.supports(dy.engine_args("fp16"))
    dy_threads = args.threads if dy.backend != "reference" else 1

    with tempfile.TemporaryDirectory(prefix="dyserve-peers-") as temp:
        work = Path(args.keep) if args.keep else Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        x = np.random.default_rng(INPUT_SEED).random((1, 3, 224, 224), dtype=np.float32)
        x_path = work / "input.npy"
        np.save(x_path, x)
        print(f"dyserve {binary} (backend {dy.backend}, {dy_threads} thread(s)); torch {torch.__version__}, "
              f"onnxruntime {__import__('onnxruntime').__version__}, {args.threads} threads for the peers")
        models = {kind: prepare(kind, args, work, dy, x, x_path) for kind in MODELS if kind in kinds}
        models.update(prepare_condconv([k for k in CONDCONV_MODELS if k in kinds], args, work, dy, x, x_path))
        if args.served:
            return peers_served.run(args, binary, dy, work, models, x)
        # Other processes on the machine are the largest source of noise: say how busy it was.
        print("load average before timing (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
        xt = torch.from_numpy(x)

        configs = []  # (label, engine, model kind, batch, callable returning a median in ms)
        for kind, m in models.items():
            configs.append((f"dyserve {kind}", "dyserve", kind, 1,
                            lambda m=m: dy.bench(m["dir"], 1, args.iterations, args.warmup)["median_ms"]))
            if kind == "dynamic" and fp16:
                configs.append(("dyserve dynamic fp16", "dyserve", kind, 1,
                                lambda m=m: dy.bench(m["dir"], 1, args.iterations, args.warmup, "fp16")["median_ms"]))
            configs.append((f"dyserve {kind} b{args.batch8}", "dyserve", kind, args.batch8,
                            lambda m=m: dy.bench(m["dir"], args.batch8, args.iterations, args.warmup)["median_ms"]))

            def eager(m=m):
                with torch.inference_mode():
                    return time_calls(lambda: m["module"](xt), args.iterations, args.warmup)
            configs.append((f"pytorch {kind}", "pytorch", kind, 1, eager))
            configs.append((f"ort {kind}", "ort", kind, 1,
                            lambda m=m: time_calls(lambda: m["session"].run(["output"], {"input": x}),
                                                   args.iterations, args.warmup)))

        medians = {label: [] for label, *_ in configs}
        for r in range(args.rounds):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for label, _, _, _, measure in order:
                time.sleep(SETTLE_SECONDS)
                medians[label].append(measure())
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{label} {medians[label][-1]:.2f}"
                                                               for label, *_ in configs), flush=True)

    final = {label: statistics.median(values) for label, values in medians.items()}
    print("load average after timing (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    print()
    print(f"| configuration | threads | batch | median ms | per-round medians min..max | samples/s |")
    print(f"|---|---|---|---|---|---|")
    for label, engine, _, batch, _ in configs:
        threads = dy_threads if engine == "dyserve" else args.threads
        values = medians[label]
        print(f"| {label} | {threads} | {batch} | {final[label]:.2f} | {min(values):.2f}..{max(values):.2f} "
              f"| {1000 * batch / final[label]:.1f} |")
    print()

    def ratio(text, a, b, target=None):
        if a in final and b in final:
            value = final[a] / final[b]
            print(f"- {text}: {value:.2f}" + (f" (target {target})" if target else ""))

    print(f"ratios of medians (dyserve backend {dy.backend}):")
    ratio("dyserve dynamic / ORT static (latency)", "dyserve dynamic", "ort static", "<= 1.4")
    ratio("ORT dynamic / dyserve dynamic (speed-up)", "ort dynamic", "dyserve dynamic", ">= 2.5")
    ratio("PyTorch dynamic / dyserve dynamic (speed-up)", "pytorch dynamic", "dyserve dynamic", ">= 3.5")
    ratio("dyserve dynamic / dyserve static (latency)", "dyserve dynamic", "dyserve static", "<= 1.35")
    ratio("dyserve dynamic fp16 / ORT static (latency)", "dyserve dynamic fp16", "ort static", "<= 1.2")
    ratio("dyserve dynamic fp16 / dyserve static (latency)", "dyserve dynamic fp16", "dyserve static", "<= 1.15")
    ratio("ORT dynamic / ORT static (latency)", "ort dynamic", "ort static")
    ratio("PyTorch dynamic / PyTorch static (latency)", "pytorch dynamic", "pytorch static")
    ratio("dyserve DY-ReLU-B / dyserve static (latency)", "dyserve dyrelu", "dyserve static", "<= 1.5")
    ratio("ORT DY-ReLU-B / dyserve DY-ReLU-B (speed-up)", "ort dyrelu", "dyserve dyrelu", ">= 1.5")
    ratio("PyTorch DY-ReLU-B / dyserve DY-ReLU-B (speed-up)", "pytorch dyrelu", "dyserve dyrelu")
    ratio("dyserve DY-ReLU-C / dyserve DY-ReLU-B (latency)", "dyserve dyrelu-c", "dyserve dyrelu", "<= 1.2")
    ratio("ORT DY-ReLU-C / dyserve DY-ReLU-C (speed-up)", "ort dyrelu-c", "dyserve dyrelu-c")
    print_condconv_ratios(ratio)
    for kind in models:
        b1, b8 = f"dyserve {kind}", f"dyserve {kind} b{args.batch8}"
        if b1 in final and b8 in final:
            gain = (args.batch8 / final[b8]) / (1 / final[b1])
            print(f"- dyserve {kind} batch {args.batch8} / batch 1 samples/s: {gain:.2f}"
                  + (" (target >= 1.3)" if kind == "dynamic" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
