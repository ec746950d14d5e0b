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


def load(directory, replace: bool = True) -> Graph:
    """Read a model directory back into a Graph (eval mode, float32). With `replace=False`, synthetic
    weights ignore the `replace` file: the seed's tensors alone (what a replace file is computed from)."""
    directory = Path(directory)
    doc = json.loads((directory / MODEL_FILE).read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}: format_version {doc.get('format_version')!r}, expected 1")
    weights = doc["weights"]
    replacements = None
    if "file" in weights:
        stored = load_file(str(inside(directory, weights["file"], "weights.file")))
        stream = None
    elif "synthetic" in weights:
        stored, stream = None, SplitMix64(int(weights["synthetic"]["seed"]))
        if replace and "replace" in weights["synthetic"]:
            replacements = Replacements(inside(directory, weights["synthetic"]["replace"], "weights.synthetic.replace"))
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
            if replacements is not None:
                tensors = replacements.apply(entry["name"], tensors)
        else:
            tensors = stored_tensors(entry, listed, stored)
        node = node_from_spec(entry["op"], attrs, tensors, inputs=len(entry["inputs"]))
        graph.add(entry["name"], node, *entry["inputs"])
        if stream is not None:
            with torch.no_grad():
                zeros = [torch.zeros(shapes[source], dtype=torch.float32) for source in entry["inputs"]]
                shapes[entry["name"]] = list(node.eval()(*zeros).shape)
    if replacements is not None:
        replacements.finish()
    graph.eval()
    return graph


def inside(directory: Path, path: str, field: str) -> Path:
    """`path` (relative, from model.json) as a file of the model directory: the format keeps weights
    inside it, so a leading `/`, a `..` or a symlink leading out is an error."""
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise ValueError(f"{field} {path!r}: expected a path inside the model directory")
    resolved = (directory / path).resolve()
    if not resolved.is_relative_to(directory.resolve()):
        raise ValueError(f"{field} {path!r} leads to {resolved}, outside the model directory")
    if not resolved.is_file():
        raise ValueError(f"{field} {path!r}: no such file in {directory}")
    return resolved


class Replacements:
    """A synthetic model's `replace` file: its tensors take the place of drawn ones of the same
    `<node>.<role>` name (the stream still draws them). Each must have the drawn shape, F32 and finite
    values, and each must replace a drawn tensor."""

    def __init__(self, path: Path):
        self.path = path
        self.tensors = load_file(str(path))
        self.unused = set(self.tensors)

    def apply(self, node: str, drawn: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        tensors = dict(drawn)
        for role, tensor in drawn.items():
            name = f"{node}.{role}"
            if name not in self.tensors:
                continue
            replacement = self.tensors[name]
            if replacement.dtype != torch.float32:
                raise ValueError(f"{self.path.name}: tensor {name!r}: dtype {replacement.dtype}, expected F32")
            if list(replacement.shape) != list(tensor.shape):
                raise ValueError(f"{self.path.name}: tensor {name!r}: shape {list(replacement.shape)}, "
                                 f"node {node!r} role {role!r} expects {list(tensor.shape)}")
            bad = (~torch.isfinite(replacement)).flatten().nonzero()
            if len(bad):
                raise ValueError(f"{self.path.name}: tensor {name!r}: non-finite value at flat index {int(bad[0])}")
            tensors[role] = replacement
            self.unused.discard(name)
        return tensors

    def finish(self) -> None:
        if self.unused:
            raise ValueError(f"{self.path.name}: tensor {sorted(self.unused)[0]!r} replaces no drawn tensor "
                             f"({len(self.unused)} unused)")


def stored_tensors(entry: dict, listed: dict, stored: dict) -> dict[str, torch.Tensor]:
    tensors = {}
    for role, tensor_name in listed.items():
        if tensor_name not in stored:
            raise ValueError(f"node {entry['name']!r}: tensor {tensor_name!r} missing")
        if stored[tensor_name].dtype != torch.float32:
            raise ValueError(f"tensor {tensor_name!r}: dtype {stored[tensor_name].dtype}, expected F32")
        tensors[role] = stored[tensor_name]
    return tensors
