"""The plain ops of docs/model-format.md: convolution, batch norm, activations, pools, linear, ..."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from .geometry import Geometry, conv2d, init_uniform
from .node import Node, copy_param


class Conv2d(Node):
    op = "conv2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, gen: Optional[torch.Generator] = None):
        super().__init__()
        self.geom = Geometry(kernel_size, stride, padding, dilation, groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"channels {in_channels}->{out_channels} not divisible by groups {groups}")
        self.out_channels = out_channels
        kh, kw = self.geom.kernel
        fan_in = in_channels // groups * kh * kw
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kh, kw))
        init_uniform(self.weight, math.sqrt(6.0 / fan_in), gen)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
            init_uniform(self.bias, 1.0 / math.sqrt(fan_in), gen)
        else:
            self.register_parameter("bias", None)

    def forward(self, x, tau=1.0, trace=None):
        return conv2d(x, self.weight, self.bias, self.geom)

    def attrs(self):
        return {"out_channels": self.out_channels, **self.geom.attrs()}

    def weight_roles(self):
        return {"weight": "weight", **({"bias": "bias"} if self.bias is not None else {})}

    @classmethod
    def from_spec(cls, attrs, tensors):
        g = Geometry.from_attrs(attrs)
        m = cls(tensors["weight"].shape[1] * g.groups, attrs["out_channels"], g.kernel, g.stride, g.padding, g.dilation,
                g.groups, bias="bias" in tensors)
        m.weight = copy_param(tensors["weight"])
        if "bias" in tensors:
            m.bias = copy_param(tensors["bias"])
        return m


class BatchNorm(Node):
    """Batch normalisation over channels; uses running statistics in eval mode."""

    op = "batch_norm"

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def randomize(self, gen: torch.Generator) -> "BatchNorm":
        """Non-trivial statistics, so that a fixture notices a missing or wrong fold."""
        c = self.weight.shape[0]
        with torch.no_grad():
            self.weight.copy_(0.5 + torch.rand(c, generator=gen))
            self.bias.copy_(torch.rand(c, generator=gen) - 0.5)
            self.running_mean.copy_(torch.rand(c, generator=gen) - 0.5)
            self.running_var.copy_(0.5 + torch.rand(c, generator=gen))
        return self

    def forward(self, x, tau=1.0, trace=None):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def attrs(self):
        return {"eps": self.eps}

    def weight_roles(self):
        return {"weight": "weight", "bias": "bias", "running_mean": "running_mean",
                "running_var": "running_var"}

    @classmethod
    def from_spec(cls, attrs, tensors):
        m = cls(tensors["weight"].shape[0], attrs.get("eps", 1e-5))
        m.weight = copy_param(tensors["weight"])
        m.bias = copy_param(tensors["bias"])
        m.running_mean = tensors["running_mean"].detach().clone().float()
        m.running_var = tensors["running_var"].detach().clone().float()
        return m


class Normalize(Node):
    """y = (x - mean[c]) / std[c]."""

    op = "normalize"

    def __init__(self, mean: list, std: list):
        super().__init__()
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]

    def forward(self, x, tau=1.0, trace=None):
        mean = torch.tensor(self.mean, dtype=x.dtype).reshape(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def attrs(self):
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_spec(cls, attrs, tensors):
        return cls(attrs["mean"], attrs["std"])


class Activation(Node):
    """relu, relu6, hard_swish, sigmoid, silu or hard_sigmoid (element-wise, written from their definitions)."""

    FUNCTIONS = {"relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid,
                 "hard_swish": lambda x: x * F.relu6(x + 3.0) / 6.0,
                 "silu": lambda x: x * torch.sigmoid(x),
                 "hard_sigmoid": lambda x: F.relu6(x + 3.0) / 6.0}

    def __init__(self, kind: str):
        super().__init__()
        if kind not in self.FUNCTIONS:
            raise ValueError(f"unknown activation {kind!r}")
        self.op = kind

    def forward(self, x, tau=1.0, trace=None):
        return self.FUNCTIONS[self.op](x)

    @classmethod
    def from_spec(cls, attrs, tensors):
        raise TypeError("use Activation(kind)")


class Add(Node):
    op = "add"
    arity = 2

    def forward(self, a, b, tau=1.0, trace=None):
        return a + b

    @classmethod
    def from_spec(cls, attrs, tensors):
        return cls()


class Mul(Node):
    """a * b: equal shapes, or one operand [N, C, 1, 1] broadcast over the other's H, W
    (squeeze-and-excitation, in either operand order)."""

    op = "mul"
    arity = 2

    def forward(self, a, b, tau=1.0, trace=None):
        if a.shape != b.shape and not (_is_gate_of(a, b) or _is_gate_of(b, a)):
            raise ValueError(f"mul of shapes {list(a.shape)} and {list(b.shape)}: they must be equal, "
                             "or one [N, C, 1, 1] and the other [N, C, H, W]")
        return a * b

    @classmethod
    def from_spec(cls, attrs, tensors):
        return cls()


def _is_gate_of(gate: torch.Tensor, x: torch.Tensor) -> bool:
    return gate.dim() == 4 and x.dim() == 4 and gate.shape[:2] == x.shape[:2] and gate.shape[2:] == (1, 1)


class GlobalAvgPool(Node):
    op = "global_avg_pool"

    def forward(self, x, tau=1.0, trace=None):
        return x.mean(dim=(2, 3), keepdim=True)

    @classmethod
    def from_spec(cls, attrs, tensors):
        return cls()


class Pool2d(Node):
    """avg_pool2d / max_pool2d with asymmetric padding. Padding never wins a max; in an average it
    counts as zero when count_include_pad, otherwise the divisor is the number of real cells."""

    def __init__(self, kind: str, kernel_size, stride=1, padding=0, count_include_pad: bool = True):
        super().__init__()
        if kind not in ("avg", "max"):
            raise ValueError(f"pool kind must be avg or max, got {kind!r}")
        self.kind = kind
        self.op = f"{kind}_pool2d"
        self.geom = Geometry(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, x, tau=1.0, trace=None):
        k, s = self.geom.kernel, self.geom.stride
        if self.kind == "max":
            return F.max_pool2d(self.geom.pad(x, float("-inf")), k, s)
        summed = F.avg_pool2d(self.geom.pad(x), k, s)
        if self.count_include_pad:
            return summed
        ones = self.geom.pad(torch.ones_like(x[:1, :1]))
        return summed / F.avg_pool2d(ones, k, s)

    def attrs(self):
        out = self.geom.attrs(conv=False)
        if self.kind == "avg":
            out["count_include_pad"] = self.count_include_pad
        return out

    @classmethod
    def from_spec(cls, attrs, tensors):
        raise TypeError("use Pool2d.from_op")

    @classmethod
    def from_op(cls, op: str, attrs: dict) -> "Pool2d":
        g = Geometry.from_attrs(attrs)
        return cls(op.split("_")[0], g.kernel, g.stride, g.padding, attrs.get("count_include_pad", True))


class Flatten(Node):
    op = "flatten"

    def forward(self, x, tau=1.0, trace=None):
        return x.reshape(x.shape[0], -1)

    @classmethod
    def from_spec(cls, attrs, tensors):
        return cls()


class Linear(Node):
    op = "linear"

    def __init__(self, in_features, out_features, bias=True, gen: Optional[torch.Generator] = None):
        super().__init__()
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        init_uniform(self.weight, math.sqrt(6.0 / in_features), gen)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
            init_uniform(self.bias, 1.0 / math.sqrt(in_features), gen)
        else:
            self.register_parameter("bias", None)

    def forward(self, x, tau=1.0, trace=None):
        return F.linear(x, self.weight, self.bias)

    def attrs(self):
        return {"out_features": self.out_features}

    def weight_roles(self):
        return {"weight": "weight", **({"bias": "bias"} if self.bias is not None else {})}

    @classmethod
    def from_spec(cls, attrs, tensors):
        w = tensors["weight"]
        m = cls(w.shape[1], attrs["out_features"], bias="bias" in tensors)
        m.weight = copy_param(w)
        if "bias" in tensors:
            m.bias = copy_param(tensors["bias"])
        return m


class Softmax(Node):
    op = "softmax"

    def __init__(self, axis: int = 1):
        super().__init__()
        self.axis = axis

    def forward(self, x, tau=1.0, trace=None):
        return torch.softmax(x, dim=self.axis)

    def attrs(self):
        return {"axis": self.axis}

    @classmethod
    def from_spec(cls, attrs, tensors):
        return cls(attrs.get("axis", 1))
