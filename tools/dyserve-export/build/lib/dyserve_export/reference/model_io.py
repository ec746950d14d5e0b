"""Read a dyserve model directory (docs/model-format.md) into a reference Graph.

This is the independent interpreter the exporter's output is checked against: it shares no code
with the converters that wrote the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from .graph import Graph, ModelInfo, TensorSpec
from .ops import node_from_spec
from .synthetic import SplitMix64, draw_node_weights

FORMAT_VERSION = 1
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


def load(directory) -> Graph:
    """Read a model directory back into a Graph (eval mode, float32)."""
    directory = Path(directory)
    doc = json.loads((directory / MODEL_FILE).read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}: format_version {doc.get('format_version')!r}, expected 1")
    weights = doc["weights"]
    if "file" in weights:
        stored = load_file(str(directory / weights["file"]))
        stream = None
    elif "synthetic" in weights:
        stored, stream = None, SplitMix64(int(weights["synthetic"]["seed"]))
    else:
        raise ValueError(f"{directory}: weights must name a file or a synthetic seed, got {weights}")
    info = ModelInfo(
        name=doc["name"], version=doc["version"], description=doc.get("description", ""),
        labels=doc.get("labels"), temperature=float(doc.get("temperature", 1.0)),
        inputs=[TensorSpec(s["name"], s["shape"]) for s in doc["inputs"]],
        outputs=[TensorSpec(s["name"], s["shape"], s.get("node")) for s in doc["outputs"]])
    graph = Graph(info)
    # Synthetic weights need each node's input shapes: run every node on zeros (batch 1) as it is added.
    shapes = {s.name: [1 if d == -1 else d for d in s.shape] for s in info.inputs} if stream else {}
    for entry in doc["nodes"]:
        attrs, listed = entry.get("attrs", {}), entry.get("weights", {})
        if stream is not None:
            input_shapes = [shapes[source] for source in entry["inputs"]]
            tensors = draw_node_weights(stream, entry["op"], attrs, input_shapes, listed)
        else:
            tensors = stored_tensors(entry, listed, stored)
        node = node_from_spec(entry["op"], attrs, tensors, inputs=len(entry["inputs"]))
        graph.add(entry["name"], node, *entry["inputs"])
        if stream is not None:
            with torch.no_grad():
                zeros = [torch.zeros(shapes[source], dtype=torch.float32) for source in entry["inputs"]]
                shapes[entry["name"]] = list(node.eval()(*zeros).shape)
    graph.eval()
    return graph


def stored_tensors(entry: dict, listed: dict, stored: dict) -> dict[str, torch.Tensor]:
    tensors = {}
    for role, tensor_name in listed.items():
        if tensor_name not in stored:
            raise ValueError(f"node {entry['name']!r}: tensor {tensor_name!r} missing")
        if stored[tensor_name].dtype != torch.float32:
            raise ValueError(f"tensor {tensor_name!r}: dtype {stored[tensor_name].dtype}, expected F32")
        tensors[role] = stored[tensor_name]
    return tensors
