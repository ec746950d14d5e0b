"""expert_routing: routing weights computed once and shared by several dynamic convolutions
(CondConv's per-block routing_fn, Yang et al. 2019). docs/model-format.md, "expert_routing"."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import attention_record
from .geometry import init_uniform
from .node import Node, copy_param

ROUTINGS = ("sigmoid", "softmax")


class ExpertRouting(Node):
    """r = sigmoid(W GAP(x) + b) or softmax((W GAP(x) + b) / tau); GAP only for a rank-4 input."""

    op = "expert_routing"

    def __init__(self, channels: int, experts: int, routing: str, temperature: Optional[float] = None,
                 bias: bool = True, gen: Optional[torch.Generator] = None):
        super().__init__()
        if routing not in ROUTINGS:
            raise ValueError(f"routing must be one of {ROUTINGS}, got {routing!r}")
        if temperature is not None and (routing != "softmax" or temperature <= 0):
            raise ValueError("temperature is a positive number, for softmax routing only")
        self.experts, self.routing, self.temperature = experts, routing, temperature
        self.weight = nn.Parameter(torch.empty(experts, channels))
        init_uniform(self.weight, math.sqrt(6.0 / channels), gen)
        if bias:
            self.bias = nn.Parameter(torch.empty(experts))
            init_uniform(self.bias, 1.0 / math.sqrt(channels), gen)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor, tau: float = 1.0, trace: Optional[list] = None) -> torch.Tensor:
        if x.dim() == 4:
            x = x.mean(dim=(2, 3))
        elif x.dim() != 2:
            raise ValueError(f"expert_routing takes a rank 4 or rank 2 input, got shape {list(x.shape)}")
        z = F.linear(x, self.weight, self.bias)
        r = torch.softmax(z / tau, dim=1) if self.routing == "softmax" else torch.sigmoid(z)
        if trace is not None:
            trace.append(attention_record(self.routing, tau, r))
        return r

    def attrs(self) -> dict:
        out = {"experts": self.experts, "routing": self.routing}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out

    def weight_roles(self) -> dict[str, str]:
        return {"weight": "weight", **({"bias": "bias"} if self.bias is not None else {})}

    @classmethod
    def from_spec(cls, attrs, tensors):
        w = tensors["weight"]
        if w.dim() != 2 or w.shape[0] != attrs["experts"]:
            raise ValueError(f"expert_routing weight of shape {list(w.shape)}, expected [{attrs['experts']}, C]")
        m = cls(w.shape[1], attrs["experts"], attrs["routing"], attrs.get("temperature"), "bias" in tensors)
        m.weight = copy_param(w)
        if "bias" in tensors:
            m.bias = copy_param(tensors["bias"])
        return m
