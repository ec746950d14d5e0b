"""Shared by the standard-layer tests: non-trivial batch norm statistics, and an independent re-check
of a written model (reference interpreter, float64) against the PyTorch module (float64)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import torch
import torch.nn as nn

from dyserve_export.reference import load


def with_batch_norm_statistics(model: nn.Module, seed: int) -> nn.Module:
    """Fresh batch norms normalise by (0, 1) with scale 1 and shift 0, which would hide a wrong fold."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(torch.rand(c, generator=gen) - 0.5)
                m.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
    return model.eval()


def recheck(model: nn.Module, x: torch.Tensor, directory: Path, rtol: float = 1e-4) -> float:
    """Reload the written files and compare with PyTorch; returns the relative difference."""
    doc = json.loads((Path(directory) / "model.json").read_text())
    graph = load(directory).double()
    with torch.no_grad():
        got = graph.run(x.double())[0][doc["outputs"][0]["name"]]
        want = copy.deepcopy(model).double().eval()(x.double())
    assert got.shape == want.shape
    difference = float((got - want).abs().max()) / float(want.abs().max())
    assert difference <= rtol, f"reloaded export differs from PyTorch by {difference}"
    return difference


def expect_dyserve_checked(report) -> None:
    """Where CI names a dyserve binary, export must have run it and matched."""
    binary = os.environ.get("DYSERVE_BINARY")
    if binary:
        assert report.differences.dyserve_binary == binary
        assert report.differences.dyserve_output is not None and report.differences.dyserve_output <= 1e-4


def ops(directory: Path) -> list[str]:
    return [n["op"] for n in json.loads((Path(directory) / "model.json").read_text())["nodes"]]
