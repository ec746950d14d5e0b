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
The weights come from the PyTorch reference's loader (dyserve_export.reference.load, SplitMix64 as
dyserve draws them); `--verify` loads the model back with the file and prints the logits' range on fresh
random inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))  # the reference package

from dyserve_export.reference import BatchNorm, Graph, ModelInfo, Softmax, TensorSpec, load  # noqa: E402

CALIBRATION_SEED = 2020
CALIBRATION_SAMPLES = 8
VERIFY_SEED = 7


def module_name(name: str) -> str:
    """bench_peers' graphs name nodes with underscores for dots (`block1_dw_conv`)."""
    return name.replace(".", "_")


def model_info(doc: dict) -> ModelInfo:
    """A model.json's header as the reference Graph's info, outputs naming underscored nodes (bench_peers)."""
    return ModelInfo(name=doc["name"], version=doc.get("version", "1"), description=doc.get("description", ""),
                     labels=doc.get("labels"), temperature=float(doc.get("temperature", 1.0)),
                     inputs=[TensorSpec(s["name"], s["shape"]) for s in doc["inputs"]],
                     outputs=[TensorSpec(s["name"], s["shape"], module_name(s.get("node") or s["name"]))
                              for s in doc["outputs"]])


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
                stats[f"{name}.running_mean"] = mean.float().contiguous()
                stats[f"{name}.running_var"] = var.float().contiguous()
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
            stats = calibrate(load(directory, replace=False), random_images(doc, CALIBRATION_SAMPLES, CALIBRATION_SEED))
            save_file(stats, str(path), metadata={"calibration": f"{CALIBRATION_SAMPLES} uniform images, seed {CALIBRATION_SEED}"})
            print(f"wrote {path}: {len(stats) // 2} batch norms")
        graph = load(directory)
        logits = logits_of(graph, random_images(doc, 2, VERIFY_SEED))
        probabilities = torch.softmax(logits, dim=1)
        print(f"{directory.name}: logits on 2 fresh random images: finite {bool(torch.isfinite(logits).all())}, "
              f"range {float(logits.min()):.3f}..{float(logits.max()):.3f}, std {float(logits.std()):.3f}, "
              f"largest probability {float(probabilities.max()):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
