"""The reference interpreter's synthetic weights (SplitMix64, docs/model-format.md) against the engine:
the shipped seeded models, run by both, must agree. Needs DYSERVE_BINARY (CI sets it)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from dyserve_export.reference import load

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.mark.parametrize("name", ["mobilenetv2", "dy-mobilenetv2"])
def test_synthetic_weights_match_the_engine(name, tmp_path):
    binary = os.environ.get("DYSERVE_BINARY")
    if not binary:
        pytest.skip("DYSERVE_BINARY is not set")
    directory = MODELS / name
    assert "synthetic" in json.loads((directory / "model.json").read_text())["weights"]
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    np.save(tmp_path / "x.npy", x.numpy())
    done = subprocess.run([binary, "run", "--model", str(directory), "--input", str(tmp_path / "x.npy"),
                           "--output", str(tmp_path / "y.npy"), "--attention", str(tmp_path / "trace.json"),
                           "--backend", "reference"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    graph = load(directory).double()
    with torch.no_grad():
        outputs, records = graph.run(x.double(), trace=True)
    want = outputs[graph.info.outputs[0].name]
    got = torch.from_numpy(np.load(tmp_path / "y.npy")).double()
    assert float((got - want).abs().max()) <= 1e-4 * float(want.abs().max())
    layers = {layer["name"]: layer for layer in json.loads((tmp_path / "trace.json").read_text())["layers"]}
    for record in records:
        if record["attention"] is not None:
            pi = torch.tensor(layers[record["name"]]["attention"]["pi"], dtype=torch.float64)
            assert float((pi - record["attention"]["pi"]).abs().max()) <= 1e-4, record["name"]
