"""Dynamic convolution: K expert kernels mixed per sample (Chen et al. 2020; CondConv routing, Yang et al. 2019)."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn

from .attention import AttentionMLP, attention_record
from .geometry import Geometry, conv2d, hidden_size, init_uniform
from .node import Node, copy_param

# Attributes of the 1-input form that a 2-input (externally routed) dynamic_conv2d must not carry.
OWN_ROUTING_ATTRS = ("routing", "temperature", "reduction", "min_hidden")


class DynamicConv2d(Node):
    """K expert kernels mixed per sample (Chen et al. 2020).

    1 input x: pi = softmax(z / tau) (routing "softmax") or sigmoid(z) (routing "sigmoid", CondConv)
    with z = FC2(ReLU(FC1(GAP(x)))). 2 inputs [x, r] (external routing): pi = r, computed by another
    node (an expert_routing shared by a CondConv block's convolutions).
    W(x) = sum_k pi_k W_k, b(x) = sum_k pi_k b_k, then a convolution with W(x), b(x).
    """

    op = "dynamic_conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, experts: int = 4, routing: str = "softmax",
                 temperature: Optional[float] = None, reduction: int = 4, min_hidden: int = 4,
                 bias: bool = True, attention_bias: bool = True, gen: Optional[torch.Generator] = None,
                 external_routing: bool = False):
        super().__init__()
        if routing not in ("softmax", "sigmoid"):
            raise ValueError(f"routing must be softmax or sigmoid, got {routing!r}")
        self.geom = Geometry(kernel_size, stride, padding, dilation, groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"channels {in_channels}->{out_channels} not divisible by groups {groups}")
        self.in_channels, self.out_channels, self.experts = in_channels, out_channels, experts
        self.routing, self.temperature = routing, temperature
        self.reduction, self.min_hidden = reduction, min_hidden
        self.external_routing = external_routing
        self.arity = 2 if external_routing else 1
        kh, kw = self.geom.kernel
        fan_in = in_channels // groups * kh * kw
        self.weight = nn.Parameter(torch.empty(experts, out_channels, in_channels // groups, kh, kw))
        init_uniform(self.weight, math.sqrt(6.0 / fan_in), gen)
        if bias:
            self.bias = nn.Parameter(torch.empty(experts, out_channels))
            init_uniform(self.bias, 1.0 / math.sqrt(fan_in), gen)
        else:
            self.register_parameter("bias", None)
        if external_routing:
            self.attention = None
        else:
            hidden = hidden_size(in_channels, reduction, min_hidden)
            self.attention = AttentionMLP(in_channels, hidden, experts, attention_bias, attention_bias, gen)

    def route(self, logits: torch.Tensor, tau: float) -> torch.Tensor:
        if self.routing == "softmax":
            return torch.softmax(logits / tau, dim=1)
        return torch.sigmoid(logits)

    def forward(self, x: torch.Tensor, *routing: torch.Tensor, tau: float = 1.0,
                trace: Optional[list] = None) -> torch.Tensor:
        n, c, h, w = x.shape
        if self.external_routing:
            (pi,) = routing
            if tuple(pi.shape) != (n, self.experts):
                raise ValueError(f"routing weights of shape {list(pi.shape)}, expected [{n}, {self.experts}]")
        else:
            if routing:
                raise ValueError("a dynamic_conv2d with its own attention takes 1 input")
            pi = self.route(self.attention(x), tau)  # [N, K]
        # Per-sample kernels [N, out, in/g, kh, kw] and biases [N, out].
        kernels = torch.einsum("nk,koihw->noihw", pi, self.weight)
        biases = pi @ self.bias if self.bias is not None else None
        # One grouped convolution over the batch: sample n is group block n.
        folded = x.reshape(1, n * c, h, w)
        y = conv2d(folded, kernels.reshape(n * self.out_channels, *kernels.shape[2:]),
                   biases.reshape(-1) if biases is not None else None, self.geom,
                   groups=n * self.geom.groups)
        y = y.reshape(n, self.out_channels, y.shape[2], y.shape[3])
        if trace is not None:
            if self.external_routing:
                # The routing is reported once, by the node that computed it (Graph sets routed_by).
                trace.append({"attention": None})
            else:
                trace.append(attention_record(self.routing, tau, pi))
        return y

    def attrs(self) -> dict:
        out = {"out_channels": self.out_channels, **self.geom.attrs(), "experts": self.experts}
        if self.external_routing:
            return out
        out.update({"routing": self.routing, "reduction": self.reduction, "min_hidden": self.min_hidden})
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out

    def weight_roles(self) -> dict[str, str]:
        out = {"weight": "weight"}
        if self.bias is not None:
            out["bias"] = "bias"
        if self.attention is not None:
            out.update(self.attention.roles("attention"))
        return out

    @classmethod
    def from_spec(cls, attrs, tensors, inputs: int = 1):
        w = tensors["weight"]
        geom = Geometry.from_attrs(attrs)
        external = inputs == 2
        if external:
            for name in OWN_ROUTING_ATTRS:
                if name in attrs:
                    raise ValueError(f"dynamic_conv2d with 2 inputs (external routing) takes no {name!r} attribute")
            for role in tensors:
                if role not in ("weight", "bias"):
                    raise ValueError(f"dynamic_conv2d with 2 inputs (external routing) takes no {role!r} weight")
        m = cls(w.shape[2] * geom.groups, attrs["out_channels"], geom.kernel, geom.stride, geom.padding,
                geom.dilation, geom.groups, attrs["experts"], attrs.get("routing", "softmax"),
                attrs.get("temperature"), attrs.get("reduction", 4), attrs.get("min_hidden", 4),
                bias="bias" in tensors, external_routing=external)
        m.weight = copy_param(w)
        if "bias" in tensors:
            m.bias = copy_param(tensors["bias"])
        if not external:
            m.attention = AttentionMLP.from_tensors(tensors)
        return m
