"""The op table: a model.json node (op, attrs, tensors, input count) -> its reference module."""

from __future__ import annotations

import torch

from .dy_relu import DyReLU
from .dynamic_conv import DynamicConv2d
from .expert_routing import ExpertRouting
from .node import Node
from .plain_ops import (Activation, Add, BatchNorm, Conv2d, Flatten, GlobalAvgPool, Linear, Mul, Normalize,
                        Pool2d, Softmax)

SIMPLE_OPS = {c.op: c for c in (DyReLU, ExpertRouting, Conv2d, BatchNorm, Normalize, Add, Mul,
                                GlobalAvgPool, Flatten, Linear, Softmax)}


def node_from_spec(op: str, attrs: dict, tensors: dict[str, torch.Tensor], inputs: int = 1) -> Node:
    """Rebuild a node from its model.json entry, its tensors (role -> tensor) and its input count."""
    if op in Activation.FUNCTIONS:
        return Activation(op)
    if op in ("avg_pool2d", "max_pool2d"):
        return Pool2d.from_op(op, attrs)
    if op == DynamicConv2d.op:
        return DynamicConv2d.from_spec(attrs, tensors, inputs)
    if op not in SIMPLE_OPS:
        raise ValueError(f"unknown op {op!r}")
    return SIMPLE_OPS[op].from_spec(attrs, tensors)
