"""The reference interpreter's synthetic weights (SplitMix64, docs/model-format.md) against the engine:
the shipped seeded models, run by both, must agree (needs DYSERVE_BINARY, CI sets it);
and the `replace` file of drawn tensors (weights.synthetic.replace), which needs no binary."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

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


# ---------------------------------------------------------------------------------------------------
# weights.synthetic.replace

def test_replace_file_takes_the_place_of_drawn_batch_norm_statistics(tmp_path):
    directory = MODELS / "dyrelu-mobilenetv2"
    replace = json.loads((directory / "model.json").read_text())["weights"]["synthetic"]["replace"]
    stored = load_file(str(directory / replace))
    graph = load(directory)
    name = "block1.dw.bn.running_var"
    node, role = name.rsplit(".", 1)
    assert torch.equal(getattr(graph.nodes[node], role), stored[name])
    # The replaced tensor is not what the seed draws, and the drawn gamma after it is the seed's.
    seeded = load(without_replace(directory, tmp_path))
    assert not torch.equal(getattr(seeded.nodes[node], role), stored[name])
    assert torch.equal(graph.nodes[node].weight, seeded.nodes[node].weight)


TINY = {"format_version": 1, "name": "tiny", "version": "1",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2, 4, 4]}],
        "outputs": [{"name": "bn", "datatype": "FP32", "shape": [-1, 3, 4, 4]}],
        "nodes": [{"name": "conv", "op": "conv2d", "inputs": ["x"], "attrs": {"kernel_size": 1, "out_channels": 3}},
                  {"name": "bn", "op": "batch_norm", "inputs": ["conv"]}]}


def tiny_model(tmp_path, tensors, replace="bn.safetensors"):
    doc = dict(TINY, weights={"synthetic": {"seed": 5, "replace": replace}})
    (tmp_path / "model.json").write_text(json.dumps(doc))
    if tensors is not None:
        save_file(tensors, str(tmp_path / "bn.safetensors"))
    return tmp_path


def without_replace(directory, scratch):
    """`directory`'s model.json without its `replace` entry (the seed's weights alone), in `scratch`."""
    doc = json.loads((directory / "model.json").read_text())
    del doc["weights"]["synthetic"]["replace"]
    scratch = scratch / "seed-only"
    scratch.mkdir()
    (scratch / "model.json").write_text(json.dumps(doc))
    return scratch


def test_replace_keeps_the_stream_drawing_every_tensor(tmp_path):
    graph = load(tiny_model(tmp_path, {"bn.running_mean": torch.zeros(3)}))
    plain = load(without_replace(tmp_path, tmp_path))
    assert torch.equal(graph.nodes["bn"].running_mean, torch.zeros(3))
    # Roles after the replaced one are still the seed's: the stream drew the replaced tensor too.
    assert torch.equal(graph.nodes["bn"].running_var, plain.nodes["bn"].running_var)
    assert torch.equal(graph.nodes["conv"].weight, plain.nodes["conv"].weight)


@pytest.mark.parametrize("tensors, message", [
    ({"bn.gamma": torch.ones(3)}, "replaces no drawn tensor"),
    ({"nobody.weight": torch.ones(3)}, "replaces no drawn tensor"),
    ({"bn.running_var": torch.ones(4)}, r"shape \[4\]"),
    ({"bn.running_var": torch.ones(3, 1)}, r"shape \[3, 1\]"),
    ({"bn.running_var": torch.tensor([1.0, float("nan"), 1.0])}, "non-finite value at flat index 1"),
    ({"bn.running_var": torch.tensor([1.0, 1.0, float("inf")])}, "non-finite value at flat index 2"),
    ({"bn.running_var": torch.ones(3, dtype=torch.float64)}, "expected F32"),
])
def test_replace_errors(tmp_path, tensors, message):
    with pytest.raises(ValueError, match=message):
        load(tiny_model(tmp_path, tensors))


@pytest.mark.parametrize("replace", ["/etc/passwd", "../bn.safetensors", "sub/../../bn.safetensors", ""])
def test_replace_path_outside_the_model_directory(tmp_path, replace):
    model = tmp_path / "model"
    model.mkdir()
    save_file({"bn.running_var": torch.ones(3)}, str(tmp_path / "bn.safetensors"))
    with pytest.raises(ValueError, match="inside the model directory"):
        load(tiny_model(model, None, replace))


def test_replace_symlink_leading_out_of_the_model_directory(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    save_file({"bn.running_var": torch.ones(3)}, str(tmp_path / "bn.safetensors"))
    (model / "link.safetensors").symlink_to(tmp_path / "bn.safetensors")
    with pytest.raises(ValueError, match="outside the model directory"):
        load(tiny_model(model, None, "link.safetensors"))


def test_replace_file_missing(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load(tiny_model(tmp_path, None))
