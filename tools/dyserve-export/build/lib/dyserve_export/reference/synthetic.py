"""Synthetic weights: every tensor of a model drawn from a seed (docs/model-format.md, "Weights").

A SplitMix64 stream advanced in node order, then role order. The shapes and ranges below are written
from the format's text, independently of the Swift loader, so that a model with `{"synthetic": ...}`
weights can be checked against the engine too.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .geometry import as_pair

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB


class SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & MASK

    def uniform(self, count: int, low: float, high: float) -> np.ndarray:
        """The next `count` draws, uniform in [low, high), as float32 (each computed in float64)."""
        # Draw i (from 1) mixes state + i * GOLDEN: the whole block at once with wrapping uint64 arithmetic.
        steps = np.arange(1, count + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = np.uint64(self.state) + steps * np.uint64(GOLDEN)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
            z = z ^ (z >> np.uint64(31))
        self.state = (self.state + count * GOLDEN) & MASK
        unit = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        return (low + (high - low) * unit).astype(np.float32)


def weight_range(fan_in: int) -> tuple[float, float]:
    limit = math.sqrt(6.0 / max(fan_in, 1))
    return (-limit, limit)


def bias_range(fan_in: int) -> tuple[float, float]:
    limit = 1.0 / math.sqrt(max(fan_in, 1))
    return (-limit, limit)


def role_specs(op: str, attrs: dict, input_shapes: list) -> list[tuple[str, list, tuple, bool]]:
    """(role, shape, (low, high), optional) of every weight role of a node, in the format's role order."""
    if op == "conv2d":
        return _conv_roles(attrs, input_shapes[0][1], experts=None)
    if op == "dynamic_conv2d":
        channels = input_shapes[0][1]
        roles = _conv_roles(attrs, channels, experts=attrs["experts"])
        if len(input_shapes) == 1:
            hidden = max(channels // attrs.get("reduction", 4), attrs.get("min_hidden", 4))
            roles += _fc_roles(channels, hidden, attrs["experts"])
        return roles
    if op == "dy_relu":
        channels = input_shapes[0][1]
        pieces = attrs.get("pieces", 2)
        hidden = max(channels // attrs.get("reduction", 8), attrs.get("min_hidden", 4))
        per_piece = (2 if attrs.get("bias", True) else 1) * (1 if attrs["variant"] == "A" else channels)
        roles = _fc_roles(channels, hidden, pieces * per_piece)
        if attrs["variant"] == "C":
            roles += [("spatial_weight", [1, channels, 1, 1], weight_range(channels), False),
                      ("spatial_bias", [1], bias_range(channels), True)]
        return roles
    if op == "batch_norm":
        c = [input_shapes[0][1]]
        return [("weight", c, (0.5, 1.5), False), ("bias", c, (-0.1, 0.1), False),
                ("running_mean", c, (-0.1, 0.1), False), ("running_var", c, (0.5, 1.5), False)]
    if op == "linear":
        features = input_shapes[0][-1]
        out = attrs["out_features"]
        return [("weight", [out, features], weight_range(features), False),
                ("bias", [out], bias_range(features), True)]
    if op == "expert_routing":
        channels, experts = input_shapes[0][1], attrs["experts"]
        return [("weight", [experts, channels], weight_range(channels), False),
                ("bias", [experts], bias_range(channels), True)]
    return []


def _conv_roles(attrs: dict, channels: int, experts) -> list:
    kh, kw = as_pair(attrs["kernel_size"])
    groups, out = attrs.get("groups", 1), attrs["out_channels"]
    fan_in = channels // groups * kh * kw
    lead = [experts] if experts is not None else []
    return [("weight", lead + [out, channels // groups, kh, kw], weight_range(fan_in), False),
            ("bias", lead + [out], bias_range(fan_in), True)]


def _fc_roles(inputs: int, hidden: int, outputs: int) -> list:
    return [("fc1_weight", [hidden, inputs], weight_range(inputs), False),
            ("fc1_bias", [hidden], bias_range(inputs), True),
            ("fc2_weight", [outputs, hidden], weight_range(hidden), False),
            ("fc2_bias", [outputs], bias_range(hidden), True)]


def draw_node_weights(stream: SplitMix64, op: str, attrs: dict, input_shapes: list,
                      listed: dict) -> dict[str, torch.Tensor]:
    """role -> tensor for one node. When the node lists roles, absent optional roles draw nothing."""
    tensors = {}
    for role, shape, (low, high), optional in role_specs(op, attrs, input_shapes):
        if optional and listed and role not in listed:
            continue
        count = int(np.prod(shape))
        tensors[role] = torch.from_numpy(stream.uniform(count, low, high).reshape(shape))
    return tensors
