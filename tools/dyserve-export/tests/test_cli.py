"""dyserve-export end to end: a factory in a user's package, checkpoints in every supported form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

FACTORY = '''
import torch.nn as nn


def build():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.Hardswish(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 3))
'''


PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def command() -> tuple[list[str], str]:
    """The installed console script when there is one next to this Python (CI installs the package),
    else `python -m dyserve_export` from this source tree; and the PYTHONPATH to run it with."""
    script = Path(sys.executable).with_name("dyserve-export")
    if script.exists():
        return [str(script)], ""
    return [sys.executable, "-m", "dyserve_export"], str(PACKAGE_ROOT)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "mynet").mkdir()
    (tmp_path / "mynet" / "__init__.py").write_text("")
    (tmp_path / "mynet" / "arch.py").write_text(FACTORY)
    sys.path.insert(0, str(tmp_path))
    try:
        from mynet.arch import build
        model = build()
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "mynet" or m.startswith("mynet.")]:
            del sys.modules[name]
    gen = torch.Generator().manual_seed(21)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(8, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(8, generator=gen) + 0.5)
    return tmp_path, model


def run(cwd, *args):
    program, pythonpath = command()
    return subprocess.run(program + list(args), cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": pythonpath})


def checkpoint_forms(tmp_path, model):
    state = model.state_dict()
    torch.save(state, tmp_path / "state.pt")
    torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in state.items()}}, tmp_path / "wrapped.pth")
    torch.save(model, tmp_path / "whole.pt")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "weights.safetensors"))
    return ["state.pt", "wrapped.pth", "whole.pt", "weights.safetensors"]


def test_cli_exports_every_checkpoint_form(project):
    tmp_path, model = project
    (tmp_path / "labels.txt").write_text("cat\ndog\nbird\n")
    for checkpoint in checkpoint_forms(tmp_path, model):
        out = tmp_path / "models" / checkpoint.replace(".", "-")
        done = run(tmp_path, "--model", "mynet.arch:build", "--checkpoint", checkpoint,
                   "--input-shape", "2,3,16,16", "--labels", "labels.txt", "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert "reference interpreter: output differs by" in done.stdout
        doc = json.loads((out / "model.json").read_text())
        assert doc["labels"] == ["cat", "dog", "bird"] and doc["name"] == out.name
        assert doc["inputs"][0]["shape"] == [-1, 3, 16, 16] and doc["outputs"][0]["shape"] == [-1, 3]
        weights = load_file(str(out / "weights.safetensors"))
        conv = next(n for n in doc["nodes"] if n["op"] == "conv2d")
        assert torch.equal(weights[conv["weights"]["weight"]], model[0].weight.detach()), checkpoint


def test_cli_errors_are_one_line_and_exit_1(project):
    tmp_path, model = project
    torch.save({"unrelated.weight": torch.zeros(2)}, tmp_path / "other.pt")
    cases = [
        (["--model", "mynet.arch:missing"], "has no 'missing'"),
        (["--model", "nosuchpackage.arch:build"], "cannot import 'nosuchpackage.arch'"),
        (["--model", "mynet.arch:build", "--checkpoint", "other.pt"], "does not fit the model: missing 0.weight"),
        (["--model", "mynet.arch:build", "--checkpoint", "absent.pt"], "no such file"),
        (["--model", "mynet.arch:build", "--input-shape", "3,16,16"], "expected four positive sizes"),
    ]
    for args, message in cases:
        if "--input-shape" not in args:
            args = args + ["--input-shape", "1,3,16,16"]
        done = run(tmp_path, *args, "-o", str(tmp_path / "out"))
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("dyserve-export: error: ") and message in done.stderr, done.stderr
        assert not (tmp_path / "out").exists()
