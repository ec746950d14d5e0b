"""A model as dyserve sees it: named nodes in topological order, run by name.

The graph resolves each dynamic convolution's (and expert routing's) temperature the way the server
does: a per-call override wins, then the node's own `temperature`, then the model's default. It
collects the trace of every dynamic layer in network order, in the JSON shape the server reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn as nn

from .dynamic_conv import DynamicConv2d
from .expert_routing import ExpertRouting
from .node import Node


@dataclass
class TensorSpec:
    name: str
    shape: list  # -1 for the batch dimension
    node: Optional[str] = None  # outputs only: the producing node


@dataclass
class ModelInfo:
    name: str
    version: str = "1"
    description: str = ""
    labels: Optional[list] = None
    temperature: float = 1.0
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


class NodeDict(nn.ModuleDict):
    """Modules by node name. Node names may contain dots (exported names follow PyTorch module paths),
    which nn.Module attribute names cannot: keys are escaped inside."""

    @staticmethod
    def _key(name: str) -> str:
        return name.replace("%", "%25").replace(".", "%2E")

    def __getitem__(self, name: str) -> nn.Module:
        return super().__getitem__(self._key(name))

    def __setitem__(self, name: str, module: nn.Module) -> None:
        super().__setitem__(self._key(name), module)

    def __contains__(self, name: str) -> bool:
        return super().__contains__(self._key(name))


class Graph(nn.Module):
    def __init__(self, info: ModelInfo):
        super().__init__()
        self.info = info
        self.names: list[str] = []
        self.node_inputs: dict[str, list[str]] = {}
        self.nodes = NodeDict()

    def add(self, name: str, node: Node, *inputs: str) -> str:
        """Append a node; returns its name so calls can be chained."""
        known = set(self.names) | {spec.name for spec in self.info.inputs}
        if name in known:
            raise ValueError(f"duplicate name {name!r}")
        for source in inputs:
            if source not in known:
                raise ValueError(f"node {name!r}: input {source!r} is not defined earlier")
        if len(inputs) != node.arity:
            raise ValueError(f"node {name!r} ({node.op}) takes {node.arity} inputs, got {len(inputs)}")
        self.names.append(name)
        self.node_inputs[name] = list(inputs)
        self.nodes[name] = node
        return name

    def temperature_of(self, node: Node, override: Optional[float]) -> float:
        if override is not None:
            return override
        if isinstance(node, (DynamicConv2d, ExpertRouting)) and node.temperature is not None:
            return node.temperature
        return self.info.temperature

    def run(self, inputs, temperature: Optional[float] = None, trace: bool = False,
            values_out: Optional[dict] = None):
        """inputs: a tensor (single input) or {name: tensor}. Returns ({output name: tensor}, trace list).
        With `values_out`, every node's value is stored there by node name (for layer-by-layer checks)."""
        if isinstance(inputs, torch.Tensor):
            inputs = {self.info.inputs[0].name: inputs}
        values = dict(inputs)
        records: Optional[list] = [] if trace else None
        for name in self.names:
            node = self.nodes[name]
            args = [values[source] for source in self.node_inputs[name]]
            start = len(records) if records is not None else 0
            values[name] = node(*args, tau=self.temperature_of(node, temperature), trace=records)
            if records is not None:
                for record in records[start:]:
                    record.setdefault("attention", None)
                    record.setdefault("activation", None)
                    record["name"], record["op"] = name, node.op
                    if getattr(node, "external_routing", False):
                        record["routed_by"] = self.node_inputs[name][1]
        outputs = {spec.name: values[spec.node or spec.name] for spec in self.info.outputs}
        if values_out is not None:
            values_out.update(values)
        return outputs, records

    def forward(self, x: torch.Tensor, temperature: Optional[float] = None) -> torch.Tensor:
        """The first output, for training loops."""
        outputs, _ = self.run(x, temperature)
        return outputs[self.info.outputs[0].name]

    def consumers(self, name: str) -> list[str]:
        users = [n for n in self.names if name in self.node_inputs[n]]
        users += [spec.name for spec in self.info.outputs if (spec.node or spec.name) == name]
        return users
