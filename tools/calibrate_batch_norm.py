#!/usr/bin/env python3
"""Measure the batch norm statistics of a synthetic model on random inputs and write them as its
`replace` file (docs/model-format.md, "synthetic"), so activations stay in a sane range.

    <torch venv>/bin/python tools/calibrate_batch_norm.py models/dyrelu-mobilenetv2 models/dyrelu-c-mobilenetv2
    <torch venv>/bin/python tools/calibrate_batch_norm.py --verify models/dyrelu-mobilenetv2

Why: the synthetic generator draws running means in [-0.1, 0.1] and variances in [0.5, 1.5], whatever
flows into the batch norm. Behind ReLU6 that is harmless; behind an unbounded activation such as DY-ReLU
(slopes up to 2, negative inputs passed through) every block multiplies the scale, and MobileNetV2 with
DY-ReLU ends with logits near 1e12 and one-hot probabilities. Here each batch norm's running mean and
(biased) variance become the per-channel mean and variance of its input over a batch of random images
(uniform in [0, 1), what the benchmarks and tests feed), measured in graph order in float64, each batch
norm calibrated before the layers after it are measured: what a trained network's statistics are on its
data. Gamma and beta stay the drawn ones, so each batch norm output is about N(beta, gamma^2) per channel.

The file holds only `<bn>.running_mean` and `<bn>.running_var` (FP32); every other weight is the seed's.
The weights are regenerated here exactly as dyserve's loader draws them (SplitMix64, node then role
order), which `--verify` checks against no file: it loads the model back with the file and prints the
logits' range on fresh random inputs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))  # the reference package

from dyserve_export.reference import BatchNorm, Graph, ModelInfo, Softmax, TensorSpec, node_from_spec  # noqa: E402

CALIBRATION_SEED = 2020
CALIBRATION_SAMPLES = 8
VERIFY_SEED = 7


class SplitMix64:
    """dyserve's synthetic weight stream (Sources/DyNN/Model/SplitMix64.swift), vectorised with numpy."""

    GAMMA = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, seed: int):
        self.state = np.uint64(seed)

    def uniform(self, count: int, low: float, high: float) -> np.ndarray:
        with np.errstate(over="ignore"):
            states = self.state + self.GAMMA * np.arange(1, count + 1, dtype=np.uint64)
            self.state = self.state + self.GAMMA * np.uint64(count)
            z = states
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        unit = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        return (low + (high - low) * unit).astype(np.float32)


def weight_bound(fan_in: int) -> tuple[float, float]:
    limit = math.sqrt(6.0 / max(fan_in, 1))
    return -limit, limit


def bias_bound(fan_in: int) -> tuple[float, float]:
    limit = 1.0 / math.sqrt(max(fan_in, 1))
    return -limit, limit


def roles_of(op: str, attrs: dict, channels: int) -> list[tuple[str, list, tuple[float, float], bool]]:
    """(role, shape, bounds, optional) in the format's role order, for the ops the benchmark models use."""
    if op == "conv2d":
        k = attrs["kernel_size"]
        kh, kw = (k, k) if isinstance(k, int) else k
        groups, out = attrs.get("groups", 1), attrs["out_channels"]
        fan_in = channels // groups * kh * kw
        return [("weight", [out, channels // groups, kh, kw], weight_bound(fan_in), False),
                ("bias", [out], bias_bound(fan_in), True)]
    if op == "batch_norm":
        return [("weight", [channels], (0.5, 1.5), False), ("bias", [channels], (-0.1, 0.1), False),
                ("running_mean", [channels], (-0.1, 0.1), False), ("running_var", [channels], (0.5, 1.5), False)]
    if op == "linear":
        out = attrs["out_features"]
        return [("weight", [out, channels], weight_bound(channels), False),
                ("bias", [out], bias_bound(channels), True)]
    if op == "dy_relu":
        pieces = attrs.get("pieces", 2)
        hidden = max(channels // attrs.get("reduction", 8), attrs.get("min_hidden", 4))
        outputs = 2 * pieces * (1 if attrs["variant"] == "A" else channels)
        roles = [("fc1_weight", [hidden, channels], weight_bound(channels), False),
                 ("fc1_bias", [hidden], bias_bound(channels), True),
                 ("fc2_weight", [outputs, hidden], weight_bound(hidden), False),
                 ("fc2_bias", [outputs], bias_bound(hidden), True)]
        if attrs["variant"] == "C":
            roles += [("spatial_weight", [1, channels, 1, 1], weight_bound(channels), False),
                      ("spatial_bias", [1], bias_bound(channels), True)]
        return roles
    if op in ("normalize", "relu", "relu6", "add", "global_avg_pool", "flatten", "softmax"):
        return []
    raise ValueError(f"op {op!r} is not generated here (only the benchmark models' ops are)")


def module_name(name: str) -> str:
    """torch's ModuleDict refuses dots in names (`block1.dw.conv`); the graph uses underscores."""
    return name.replace(".", "_")


def model_info(doc: dict) -> ModelInfo:
    """A model.json's header as the reference Graph's info, outputs naming underscored nodes."""
    return ModelInfo(name=doc["name"], version=doc.get("version", "1"), description=doc.get("description", ""),
                     labels=doc.get("labels"), temperature=float(doc.get("temperature", 1.0)),
                     inputs=[TensorSpec(s["name"], s["shape"]) for s in doc["inputs"]],
                     outputs=[TensorSpec(s["name"], s["shape"], module_name(s.get("node") or s["name"]))
                              for s in doc["outputs"]])


def synthetic_graph(doc: dict, replacements: dict[str, torch.Tensor] | None = None) -> Graph:
    """The model's graph with dyserve's synthetic weights (and `replacements` in place of drawn tensors).
    Node names have underscores for dots; `graph.model_names` maps them back."""
    stream = SplitMix64(doc["weights"]["synthetic"]["seed"])
    graph = Graph(model_info(doc))
    graph.model_names = {}
    channels = {s["name"]: s["shape"][1] for s in doc["inputs"]}
    used = set()
    for entry in doc["nodes"]:
        op, attrs, listed = entry["op"], entry.get("attrs", {}), entry.get("weights", {})
        c = channels[entry["inputs"][0]]
        tensors = {}
        for role, shape, (low, high), optional in roles_of(op, attrs, c):
            if optional and listed and role not in listed:
                continue  # a listed-roles node without this optional role draws nothing for it
            values = stream.uniform(int(np.prod(shape)), low, high).reshape(shape)
            name = f"{entry['name']}.{role}"
            tensor = torch.from_numpy(values)
            if replacements is not None and name in replacements:
                tensor = replacements[name]
                used.add(name)
            tensors[role] = tensor
        key = module_name(entry["name"])
        graph.model_names[key] = entry["name"]
        graph.add(key, node_from_spec(op, attrs, tensors), *map(module_name, entry["inputs"]))
        if op in ("conv2d",):
            channels[entry["name"]] = attrs["out_channels"]
        elif op == "linear":
            channels[entry["name"]] = attrs["out_features"]
        else:
            channels[entry["name"]] = c
    if replacements is not None and set(replacements) - used:
        raise ValueError(f"replacements name tensors no node draws: {sorted(set(replacements) - used)[:3]}")
    graph.eval()
    return graph


def random_images(doc: dict, samples: int, seed: int) -> torch.Tensor:
    shape = [samples] + doc["inputs"][0]["shape"][1:]
    return torch.from_numpy(np.random.default_rng(seed).random(shape, dtype=np.float32))


def calibrate(graph: Graph, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Set every batch norm's running statistics to those of its input on `x`, in graph order (float64)."""
    graph.double()
    values = {graph.info.inputs[0].name: x.double()}
    stats = {}
    with torch.inference_mode():
        for name in graph.names:
            node = graph.nodes[name]
            args = [values[source] for source in graph.node_inputs[name]]
            if isinstance(node, BatchNorm):
                mean = args[0].mean(dim=(0, 2, 3))
                var = args[0].var(dim=(0, 2, 3), unbiased=False)
                node.running_mean.copy_(mean)
                node.running_var.copy_(var)
                model_name = getattr(graph, "model_names", {}).get(name, name)
                stats[f"{model_name}.running_mean"] = mean.float().contiguous()
                stats[f"{model_name}.running_var"] = var.float().contiguous()
            values[name] = node(*args, tau=graph.temperature_of(node, None))
    graph.float()
    return stats


def logits_of(graph: Graph, x: torch.Tensor) -> torch.Tensor:
    """The input of the final softmax (the logits), in float64."""
    graph.double()
    values = {graph.info.inputs[0].name: x.double()}
    last = None
    with torch.inference_mode():
        for name in graph.names:
            node = graph.nodes[name]
            if isinstance(node, Softmax):
                last = values[graph.node_inputs[name][0]]
            values[name] = node(*[values[s] for s in graph.node_inputs[name]], tau=graph.temperature_of(node, None))
    graph.float()
    return last


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="model directories with synthetic weights and a `replace` file name")
    parser.add_argument("--verify", action="store_true", help="only load with the existing file and print the logits")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    for directory in map(Path, args.models):
        doc = json.loads((directory / "model.json").read_text())
        synthetic = doc["weights"].get("synthetic", {})
        if "replace" not in synthetic:
            raise SystemExit(f"{directory}: weights.synthetic has no \"replace\" file to write")
        path = directory / synthetic["replace"]
        if not args.verify:
            stats = calibrate(synthetic_graph(doc), random_images(doc, CALIBRATION_SAMPLES, CALIBRATION_SEED))
            save_file(stats, str(path), metadata={"calibration": f"{CALIBRATION_SAMPLES} uniform images, seed {CALIBRATION_SEED}"})
            print(f"wrote {path}: {len(stats) // 2} batch norms")
        graph = synthetic_graph(doc, load_file(str(path)))
        logits = logits_of(graph, random_images(doc, 2, VERIFY_SEED))
        probabilities = torch.softmax(logits, dim=1)
        print(f"{directory.name}: logits on 2 fresh random images: finite {bool(torch.isfinite(logits).all())}, "
              f"range {float(logits.min()):.3f}..{float(logits.max()):.3f}, std {float(logits.std()):.3f}, "
              f"largest probability {float(probabilities.max()):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
