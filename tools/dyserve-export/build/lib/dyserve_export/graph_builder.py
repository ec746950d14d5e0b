"""GraphBuilder: the model being written. Collects nodes and their weights under unique names and
writes model.json + weights.safetensors (float32).

Output shapes are inferred by running the reference op on zeros (shape only: the values the exporter
writes are checked against PyTorch afterwards, by verify.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
from safetensors.torch import save_file

from .json_format import to_json
from .reference import FORMAT_VERSION, MODEL_FILE, WEIGHTS_FILE, node_from_spec


@dataclass(frozen=True)
class Value:
    """A named value of the graph being built; `shape` includes the example input's batch."""
    name: str
    shape: tuple[int, ...]


@dataclass
class NodeRecord:
    """One model.json node as written, and the module it came from."""
    name: str
    op: str
    inputs: list[Value]
    attrs: dict
    weights: dict[str, torch.Tensor]
    module_path: str
    output: Value


@dataclass
class GraphBuilder:
    input: Value
    nodes: list[NodeRecord] = field(default_factory=list)
    # module path -> name of the last node added for it (the module's output).
    module_outputs: dict[str, str] = field(default_factory=dict)
    _names: set = field(default_factory=set)

    def __post_init__(self):
        self._names.add(self.input.name)

    def unique_name(self, hint: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", hint) or "node"
        name, suffix = base, 1
        while name in self._names:
            suffix += 1
            name = f"{base}_{suffix}"
        self._names.add(name)
        return name

    def add_node(self, op: str, inputs: list[Value], *, attrs: Optional[dict] = None,
                 weights: Optional[dict[str, torch.Tensor]] = None, name_hint: str,
                 module_path: str) -> Value:
        attrs = _plain_json(dict(attrs or {}))
        tensors = {}
        for role, tensor in (weights or {}).items():
            t = tensor.detach().to(torch.float32).contiguous().clone()
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"{module_path or name_hint}: weight {role!r} holds a NaN or infinity")
            tensors[role] = t
        for value in inputs:
            if not isinstance(value, Value):
                raise TypeError(f"{module_path or name_hint}: node inputs must be Values, got {type(value).__name__}")
        shape = self._infer_shape(op, attrs, tensors, inputs, module_path or name_hint)
        name = self.unique_name(name_hint)
        output = Value(name, shape)
        self.nodes.append(NodeRecord(name, op, list(inputs), attrs, tensors, module_path, output))
        if module_path:
            self.module_outputs[module_path] = name
        return output

    @staticmethod
    def _infer_shape(op, attrs, tensors, inputs, where) -> tuple[int, ...]:
        try:
            node = node_from_spec(op, attrs, tensors, inputs=len(inputs)).eval()
            batch = inputs[0].shape[0]
            with torch.no_grad():
                zeros = [torch.zeros((1,) + tuple(v.shape[1:]), dtype=torch.float32) for v in inputs]
                out = node(*zeros)
        except Exception as error:  # the op rejected its attributes, weights or input shapes
            shapes = ", ".join(str(list(v.shape)) for v in inputs)
            raise ValueError(f"{where}: cannot write {op} node for inputs {shapes}: {error}") from error
        return (batch,) + tuple(out.shape[1:])

    def producer(self, value: Value) -> Optional[NodeRecord]:
        """The node that produced `value`, or None for the graph input."""
        for record in reversed(self.nodes):
            if record.name == value.name:
                return record
        return None

    def live_nodes(self, output: Value) -> list[NodeRecord]:
        """The nodes `output` depends on, in order: chains a converter replaced are dropped."""
        needed = {output.name}
        live = []
        for record in reversed(self.nodes):
            if record.name in needed:
                live.append(record)
                needed.update(v.name for v in record.inputs)
        return live[::-1]

    def document(self, output: Value, *, name: str, description: str = "", labels=None,
                 output_name: str = "output") -> tuple[dict, dict[str, torch.Tensor]]:
        """model.json as a dict and the tensors of the weights file."""
        doc = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": "1",
            "description": description,
            "inputs": [{"name": self.input.name, "datatype": "FP32", "shape": [-1, *self.input.shape[1:]]}],
            "outputs": [{"name": output_name, "datatype": "FP32", "shape": [-1, *output.shape[1:]],
                         "node": output.name}],
        }
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(output.shape) < 2 or len(labels) != output.shape[-1]:
                raise ValueError(f"{len(labels)} labels for an output of shape {list(output.shape)}: "
                                 "one label per element of its last dimension")
            doc["labels"] = labels
        doc["temperature"] = 1.0
        doc["weights"] = {"file": WEIGHTS_FILE}
        doc["nodes"] = []
        tensors: dict[str, torch.Tensor] = {}
        for record in self.live_nodes(output):
            roles = {}
            for role, tensor in record.weights.items():
                tensor_name = f"{record.name}.{role}"
                if tensor_name in tensors:
                    raise ValueError(f"tensor name {tensor_name!r} is used twice")
                roles[role] = tensor_name
                tensors[tensor_name] = tensor
            entry = {"name": record.name, "op": record.op, "inputs": [v.name for v in record.inputs]}
            if record.attrs:
                entry["attrs"] = record.attrs
            if roles:
                entry["weights"] = roles
            doc["nodes"].append(entry)
        return doc, tensors

    def write(self, directory, output: Value, **document_args) -> tuple[dict, dict[str, torch.Tensor]]:
        doc, tensors = self.document(output, **document_args)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MODEL_FILE).write_text(to_json(doc) + "\n")
        save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
        return doc, tensors


def _plain_json(value):
    """Attributes as plain JSON values: tuples become lists, numpy / torch scalars become numbers."""
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"attribute value {value} is not finite")
        return float(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"attribute value {value!r} of type {type(value).__name__} is not JSON")


__all__ = ["Value", "NodeRecord", "GraphBuilder"]
