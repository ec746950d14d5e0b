"""Shared by the DY-family export tests: seeded random weights and an export that is re-checked here.

`dyserve_export.export` proves its output itself (reference interpreter, and `dyserve run` when
DYSERVE_BINARY names a release build); `export_checked` also reloads the written files through the
reference interpreter and compares them with the PyTorch module, so a test fails on its own account
if an export that should match does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn

import dyserve_export
from dyserve_export.reference import load


def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Every parameter drawn from N(0, 0.5^2) (biases included, so zero-initialised ones matter) and
    batch norms with non-trivial statistics; returns the model in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
    return model.eval()


def image(batch: int, channels: int, size: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, channels, size, size, generator=torch.Generator().manual_seed(seed))


def export_checked(model: nn.Module, x: torch.Tensor, out_dir: Path, rtol: float = 1e-4, **kwargs):
    """Export, then reload and compare with PyTorch; returns (model.json as a dict, report, graph)."""
    report = dyserve_export.export(model, x, out_dir, rtol=rtol, **kwargs)
    doc = json.loads((Path(out_dir) / "model.json").read_text())
    graph = load(out_dir)
    with torch.no_grad():
        want = model.eval()(x)
        outputs, _ = graph.run(x)
    got = outputs[doc["outputs"][0]["name"]]
    scale = max(float(want.abs().max()), 1e-6)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) <= rtol * scale, "reloaded export differs from PyTorch"
    return doc, report, graph


def ops(doc: dict) -> list[str]:
    return [node["op"] for node in doc["nodes"]]


def nodes_of(doc: dict, op: str) -> list[dict]:
    return [node for node in doc["nodes"] if node["op"] == op]
