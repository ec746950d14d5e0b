"""The CondConv part of tools/bench_peers.py: timm's CondConv EfficientNet-B0 against ONNX Runtime and
PyTorch eager on the same weights, with a static EfficientNet-B0 as the anchor.

For each of `condconv` (timm `efficientnet_cc_b0_4e`, the architecture of models/condconv-efficientnet-b0)
and `effnet-b0` (timm `efficientnet_b0`, static):
  1. build the timm model as tools/make_condconv_model.py does: timm's seeded initialisation, batch norms
     with non-trivial statistics;
  2. export it with dyserve-export (tools/dyserve-export) into the work directory: model.json +
     weights.safetensors, proven against the timm module before it is kept;
  3. PyTorch eager runs the timm module itself (as its users run it);
  4. ONNX Runtime runs an ONNX export (batch 1, legacy TorchScript exporter) of the reference graph read
     back from the exported files, rewritten by tools/onnx_export.py (a dynamic convolution's aggregated
     kernel is one MatMul feeding a Conv), so all three engines compute with the same weights;
  5. the outputs of dyserve, ONNX Runtime and PyTorch are compared before anything is timed.
Needs torch, timm, onnx, onnxruntime and a dyserve build that knows expert_routing and 2-input
dynamic_conv2d. Never run in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS / "dyserve-export"))

# kind -> (timm architecture, seed of its PyTorch weights)
CONDCONV_MODELS = {"condconv": ("efficientnet_cc_b0_4e", 21), "effnet-b0": ("efficientnet_b0", 22)}


def prepare_condconv(kinds: list[str], args, work: Path, dy, x: np.ndarray, x_path: Path) -> dict:
    """Export and cross-check the requested CondConv / anchor models; entries as bench_peers.prepare's."""
    from bench_peers import max_diff, ort_session
    from dyserve_export import export as export_to_dyserve
    from dyserve_export.reference import load
    from make_condconv_model import timm_model
    from onnx_export import ExportGraph, export as export_onnx

    xt = torch.from_numpy(x)
    prepared = {}
    for kind in kinds:
        arch, seed = CONDCONV_MODELS[kind]
        model = timm_model(seed, arch)
        model_dir = work / kind
        export_to_dyserve(model, xt, model_dir, name=kind)
        graph = load(model_dir)
        onnx_path = export_onnx(ExportGraph(graph), xt, work / f"{kind}.onnx")
        session = ort_session(onnx_path, args.threads)
        with torch.inference_mode():
            expected = model(xt).numpy()
        (ort_out,) = session.run(None, {"input": x})
        dy_out = dy.run(model_dir, x_path, work / f"{kind}.out.npy")
        print(f"{kind} (timm {arch}): dyserve backend {dy.backend}; "
              f"{sum(p.numel() for p in model.parameters()):,} parameters")
        print(f"  logits, max abs diff vs PyTorch eager: ONNX Runtime {max_diff(ort_out, expected)}, "
              f"dyserve {max_diff(dy_out, expected)}")
        for label, got in (("ONNX Runtime", ort_out), ("dyserve", dy_out)):
            tolerance = args.atol * max(1.0, float(np.abs(expected).max()))
            if not np.allclose(got, expected, atol=tolerance, rtol=0):
                raise SystemExit(f"{kind}: {label} differs from PyTorch by {np.abs(got - expected).max()}")
        prepared[kind] = {"name": arch, "dir": model_dir, "module": model, "session": session}
    return prepared


def print_condconv_ratios(ratio) -> None:
    """The CondConv figures, with `ratio(text, a, b)` from bench_peers."""
    ratio("dyserve condconv / ORT effnet-b0 static (latency)", "dyserve condconv", "ort effnet-b0")
    ratio("ORT condconv / dyserve condconv (speed-up)", "ort condconv", "dyserve condconv")
    ratio("PyTorch condconv / dyserve condconv (speed-up)", "pytorch condconv", "dyserve condconv")
    ratio("dyserve condconv / dyserve effnet-b0 static (latency)", "dyserve condconv", "dyserve effnet-b0")
    ratio("ORT condconv / ORT effnet-b0 static (latency)", "ort condconv", "ort effnet-b0")
