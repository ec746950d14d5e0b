"""The attention / hyper network of dynamic convolutions and DY-ReLU."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from .geometry import entropy_nats, init_uniform
from .node import copy_param


def attention_record(routing: str, tau: float, pi: torch.Tensor) -> dict:
    """The trace record of routing weights pi [N, K] (softmax reports its temperature, sigmoid 1)."""
    return {"attention": {
        "routing": routing,
        "temperature": float(tau) if routing == "softmax" else 1.0,
        "pi": pi.detach(),
        "entropy": entropy_nats(pi.detach()),
    }}


class AttentionMLP(nn.Module):
    """GAP -> FC1 -> ReLU -> FC2: the logits of a dynamic conv's routing or a DY-ReLU's coefficients."""

    def __init__(self, inputs: int, hidden: int, outputs: int, fc1_bias: bool = True,
                 fc2_bias: bool = True, gen: Optional[torch.Generator] = None):
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden, bias=fc1_bias)
        self.fc2 = nn.Linear(hidden, outputs, bias=fc2_bias)
        for fc in (self.fc1, self.fc2):
            bound = 1.0 / math.sqrt(fc.in_features)
            init_uniform(fc.weight, math.sqrt(3.0) * bound, gen)
            if fc.bias is not None:
                init_uniform(fc.bias, bound, gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3))
        return self.fc2(F.relu(self.fc1(pooled)))

    def roles(self, prefix: str) -> dict[str, str]:
        out = {"fc1_weight": f"{prefix}.fc1.weight"}
        if self.fc1.bias is not None:
            out["fc1_bias"] = f"{prefix}.fc1.bias"
        out["fc2_weight"] = f"{prefix}.fc2.weight"
        if self.fc2.bias is not None:
            out["fc2_bias"] = f"{prefix}.fc2.bias"
        return out

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "AttentionMLP":
        w1, w2 = tensors["fc1_weight"], tensors["fc2_weight"]
        hidden, inputs = w1.shape
        outputs, hidden2 = w2.shape
        if hidden2 != hidden:
            raise ValueError(f"fc2_weight has {hidden2} inputs, fc1_weight has {hidden} outputs")
        mlp = cls(inputs, hidden, outputs, "fc1_bias" in tensors, "fc2_bias" in tensors)
        mlp.fc1.weight = copy_param(w1)
        mlp.fc2.weight = copy_param(w2)
        if "fc1_bias" in tensors:
            mlp.fc1.bias = copy_param(tensors["fc1_bias"])
        if "fc2_bias" in tensors:
            mlp.fc2.bias = copy_param(tensors["fc2_bias"])
        return mlp
