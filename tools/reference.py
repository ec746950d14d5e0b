"""PyTorch reference modules for dyserve's ops, written from the papers.

Dynamic Convolution (Chen et al., CVPR 2020), CondConv-style sigmoid routing (Yang et al., 2019) and
Dynamic ReLU A/B/C (Chen et al., ECCV 2020), plus the plain ops of docs/model-format.md.

Every module is one node of a model graph. It knows:
  * `op`: the op name in model.json,
  * `attrs()`: its model.json attributes,
  * `weight_roles()`: role -> tensor (the tensors a node names in the weights file),
  * `from_spec(attrs, tensors)`: how to rebuild itself from an exported node,
  * `forward(*inputs, tau=None, trace=None)`: the computation. Dynamic layers append a trace record
    (a dict) to `trace` when it is a list; `tau` is the temperature the graph resolved for them.

Shapes are NCHW. Padding is always (top, left, bottom, right) internally.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


# --------------------------------------------------------------------------------------------
# Geometry helpers


def as_pair(value) -> tuple[int, int]:
    """An int or a [a, b] list as a pair of ints."""
    if isinstance(value, int):
        return (value, value)
    if len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ValueError(f"expected an int or a pair, got {value!r}")


def as_padding(value) -> tuple[int, int, int, int]:
    """model.json padding (int, [ph, pw] or [top, left, bottom, right]) as (top, left, bottom, right)."""
    if isinstance(value, int):
        return (value, value, value, value)
    if len(value) == 2:
        return (int(value[0]), int(value[1]), int(value[0]), int(value[1]))
    if len(value) == 4:
        return tuple(int(v) for v in value)
    raise ValueError(f"padding must be an int, [ph, pw] or [top, left, bottom, right], got {value!r}")


def compact_pair(pair: tuple[int, int]):
    """(a, a) -> a, else [a, b]: the shortest model.json spelling."""
    return pair[0] if pair[0] == pair[1] else [pair[0], pair[1]]


def compact_padding(pad: tuple[int, int, int, int]):
    top, left, bottom, right = pad
    if top == bottom and left == right:
        return compact_pair((top, left))
    return [top, left, bottom, right]


class Geometry:
    """Kernel, stride, padding, dilation and groups of a convolution or pool."""

    def __init__(self, kernel_size, stride=1, padding=0, dilation=1, groups=1):
        self.kernel = as_pair(kernel_size)
        self.stride = as_pair(stride)
        self.padding = as_padding(padding)
        self.dilation = as_pair(dilation)
        self.groups = int(groups)

    @classmethod
    def from_attrs(cls, attrs: dict) -> "Geometry":
        return cls(attrs["kernel_size"], attrs.get("stride", 1), attrs.get("padding", 0),
                   attrs.get("dilation", 1), attrs.get("groups", 1))

    def attrs(self, conv: bool = True) -> dict:
        """model.json attributes. Stride is always written (pools' default would surprise PyTorch users)."""
        out = {"kernel_size": compact_pair(self.kernel), "stride": compact_pair(self.stride)}
        if self.padding != (0, 0, 0, 0):
            out["padding"] = compact_padding(self.padding)
        if conv:
            if self.dilation != (1, 1):
                out["dilation"] = compact_pair(self.dilation)
            if self.groups != 1:
                out["groups"] = self.groups
        return out

    def pad(self, x: torch.Tensor, value: float = 0.0) -> torch.Tensor:
        top, left, bottom, right = self.padding
        if (top, left, bottom, right) == (0, 0, 0, 0):
            return x
        return F.pad(x, (left, right, top, bottom), value=value)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], geom: Geometry,
           groups: Optional[int] = None) -> torch.Tensor:
    """A convolution with asymmetric zero padding."""
    return F.conv2d(geom.pad(x), weight, bias, stride=geom.stride, padding=0,
                    dilation=geom.dilation, groups=geom.groups if groups is None else groups)


def hidden_size(inputs: int, reduction: int, min_hidden: int) -> int:
    """Width of an attention / hyper network: max(in / reduction, min_hidden), integer division."""
    return max(inputs // reduction, min_hidden)


def entropy_nats(p: torch.Tensor) -> torch.Tensor:
    """Entropy per row of p after normalising each row to sum 1; 0 log 0 = 0."""
    q = p / p.sum(dim=1, keepdim=True)
    logs = torch.where(q > 0, torch.log(q), torch.zeros_like(q))
    return -(q * logs).sum(dim=1)


def init_uniform(t: torch.Tensor, bound: float, gen: Optional[torch.Generator]) -> torch.Tensor:
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=gen)
    return t


# --------------------------------------------------------------------------------------------
# Base


class Node(nn.Module):
    """One model.json node."""

    op: str = ""
    arity: int = 1

    def attrs(self) -> dict:
        return {}

    def weight_roles(self) -> dict[str, str]:
        """role -> state_dict key (relative to this module), in the format's role order."""
        return {}

    @classmethod
    def from_spec(cls, attrs: dict, tensors: dict[str, torch.Tensor]) -> "Node":
        raise NotImplementedError


def _copy_param(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone().to(torch.float32))


# --------------------------------------------------------------------------------------------
# Attention / hyper network


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
        mlp.fc1.weight = _copy_param(w1)
        mlp.fc2.weight = _copy_param(w2)
        if "fc1_bias" in tensors:
            mlp.fc1.bias = _copy_param(tensors["fc1_bias"])
        if "fc2_bias" in tensors:
            mlp.fc2.bias = _copy_param(tensors["fc2_bias"])
        return mlp


# --------------------------------------------------------------------------------------------
# Dynamic convolution


class DynamicConv2d(Node):
    """K expert kernels mixed per sample by an attention over GAP(x) (Chen et al. 2020).

    pi = softmax(z / tau) (routing "softmax") or sigmoid(z) (routing "sigmoid", CondConv);
    W(x) = sum_k pi_k W_k, b(x) = sum_k pi_k b_k, then a convolution with W(x), b(x).
    """

    op = "dynamic_conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, experts: int = 4, routing: str = "softmax",
                 temperature: Optional[float] = None, reduction: int = 4, min_hidden: int = 4,
                 bias: bool = True, attention_bias: bool = True, gen: Optional[torch.Generator] = None):
        super().__init__()
        if routing not in ("softmax", "sigmoid"):
            raise ValueError(f"routing must be softmax or sigmoid, got {routing!r}")
        self.geom = Geometry(kernel_size, stride, padding, dilation, groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"channels {in_channels}->{out_channels} not divisible by groups {groups}")
        self.in_channels, self.out_channels, self.experts = in_channels, out_channels, experts
        self.routing, self.temperature = routing, temperature
        self.reduction, self.min_hidden = reduction, min_hidden
        kh, kw = self.geom.kernel
        fan_in = in_channels // groups * kh * kw
        self.weight = nn.Parameter(torch.empty(experts, out_channels, in_channels // groups, kh, kw))
        init_uniform(self.weight, math.sqrt(6.0 / fan_in), gen)
        if bias:
            self.bias = nn.Parameter(torch.empty(experts, out_channels))
            init_uniform(self.bias, 1.0 / math.sqrt(fan_in), gen)
        else:
            self.register_parameter("bias", None)
        hidden = hidden_size(in_channels, reduction, min_hidden)
        self.attention = AttentionMLP(in_channels, hidden, experts, attention_bias, attention_bias, gen)

    def route(self, logits: torch.Tensor, tau: float) -> torch.Tensor:
        if self.routing == "softmax":
            return torch.softmax(logits / tau, dim=1)
        return torch.sigmoid(logits)

    def forward(self, x: torch.Tensor, tau: float = 1.0, trace: Optional[list] = None) -> torch.Tensor:
        n, c, h, w = x.shape
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
            trace.append({"attention": {
                "routing": self.routing,
                "temperature": float(tau) if self.routing == "softmax" else 1.0,
                "pi": pi.detach(),
                "entropy": entropy_nats(pi.detach()),
            }})
        return y

    def attrs(self) -> dict:
        out = {"out_channels": self.out_channels, **self.geom.attrs(), "experts": self.experts,
               "routing": self.routing, "reduction": self.reduction, "min_hidden": self.min_hidden}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out

    def weight_roles(self) -> dict[str, str]:
        out = {"weight": "weight"}
        if self.bias is not None:
            out["bias"] = "bias"
        out.update(self.attention.roles("attention"))
        return out

    @classmethod
    def from_spec(cls, attrs, tensors):
        w = tensors["weight"]
        geom = Geometry.from_attrs(attrs)
        m = cls(w.shape[2] * geom.groups, attrs["out_channels"], geom.kernel, geom.stride, geom.padding,
                geom.dilation, geom.groups, attrs["experts"], attrs.get("routing", "softmax"),
                attrs.get("temperature"), attrs.get("reduction", 4), attrs.get("min_hidden", 4),
                bias="bias" in tensors)
        m.weight = _copy_param(w)
        if "bias" in tensors:
            m.bias = _copy_param(tensors["bias"])
        m.attention = AttentionMLP.from_tensors(tensors)
        return m


# --------------------------------------------------------------------------------------------
# Dynamic ReLU

LAYOUTS = ("paper", "per_channel", "pairs")
SQUASHES = ("sigmoid", "hard_sigmoid")


def coefficient_indices(layout: str, pieces: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Index into the 2*K*C hyper outputs of a^k_c and b^k_c, as [K, C] tensors (docs/model-format.md)."""
    k = torch.arange(pieces).reshape(pieces, 1)
    c = torch.arange(channels).reshape(1, channels)
    K, C = pieces, channels
    if layout == "paper":
        return k * C + c, (K + k) * C + c
    if layout == "per_channel":
        return c * 2 * K + k, c * 2 * K + K + k
    if layout == "pairs":
        return 2 * k * C + c, (2 * k + 1) * C + c
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def squash(z: torch.Tensor, kind: str) -> torch.Tensor:
    """Normalise hyper outputs to [-1, 1]."""
    if kind == "sigmoid":
        return 2.0 * torch.sigmoid(z) - 1.0
    if kind == "hard_sigmoid":
        return 2.0 * F.relu6(z + 3.0) / 6.0 - 1.0
    raise ValueError(f"squash must be one of {SQUASHES}, got {kind!r}")


class DyReLU(Node):
    """y_c = max_k (a^k_c(x) x_c + b^k_c(x)); variant C multiplies by a spatial attention pi_hw."""

    op = "dy_relu"

    def __init__(self, channels: int, variant: str = "B", pieces: int = 2, reduction: int = 8,
                 min_hidden: int = 4, lambda_a: float = 1.0, lambda_b: float = 0.5,
                 alpha: Optional[list] = None, beta: Optional[list] = None, layout: str = "paper",
                 squash_kind: str = "sigmoid", spatial_tau: float = 10.0,
                 spatial_gamma: Optional[float] = None, hyper_bias: bool = True,
                 spatial_bias: bool = True, gen: Optional[torch.Generator] = None):
        super().__init__()
        if variant not in ("A", "B", "C"):
            raise ValueError(f"variant must be A, B or C, got {variant!r}")
        if layout not in LAYOUTS or squash_kind not in SQUASHES:
            raise ValueError(f"bad layout {layout!r} or squash {squash_kind!r}")
        self.channels, self.variant, self.pieces = channels, variant, pieces
        self.reduction, self.min_hidden = reduction, min_hidden
        self.lambda_a, self.lambda_b = float(lambda_a), float(lambda_b)
        self.alpha = [float(v) for v in (alpha if alpha is not None else [1.0] + [0.0] * (pieces - 1))]
        self.beta = [float(v) for v in (beta if beta is not None else [0.0] * pieces)]
        if len(self.alpha) != pieces or len(self.beta) != pieces:
            raise ValueError(f"alpha and beta need {pieces} values")
        self.layout, self.squash_kind = layout, squash_kind
        self.spatial_tau, self.spatial_gamma = float(spatial_tau), spatial_gamma
        self.coeff_channels = 1 if variant == "A" else channels
        hidden = hidden_size(channels, reduction, min_hidden)
        self.hyper = AttentionMLP(channels, hidden, 2 * pieces * self.coeff_channels,
                                  hyper_bias, hyper_bias, gen)
        if variant == "C":
            self.spatial = nn.Conv2d(channels, 1, 1, bias=spatial_bias)
            init_uniform(self.spatial.weight, math.sqrt(6.0 / channels), gen)
            if spatial_bias:
                init_uniform(self.spatial.bias, 1.0 / math.sqrt(channels), gen)
        else:
            self.spatial = None

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a, b as [N, K, C'] with C' = 1 (A) or C."""
        theta = squash(self.hyper(x), self.squash_kind)
        ia, ib = coefficient_indices(self.layout, self.pieces, self.coeff_channels)
        da, db = theta[:, ia], theta[:, ib]
        alpha = torch.tensor(self.alpha, dtype=x.dtype).reshape(1, -1, 1)
        beta = torch.tensor(self.beta, dtype=x.dtype).reshape(1, -1, 1)
        return alpha + self.lambda_a * da, beta + self.lambda_b * db

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """pi_hw = min(gamma softmax_hw(z / tau), 1), [N, H*W]."""
        n, _, h, w = x.shape
        z = self.spatial(x).reshape(n, h * w)
        gamma = self.spatial_gamma if self.spatial_gamma is not None else h * w / 3.0
        return torch.clamp(gamma * torch.softmax(z / self.spatial_tau, dim=1), max=1.0)

    def forward(self, x: torch.Tensor, tau: float = 1.0, trace: Optional[list] = None) -> torch.Tensor:
        n, c, h, w = x.shape
        a, b = self.coefficients(x)  # [N, K, C']
        lines = a[..., None, None] * x[:, None] + b[..., None, None]  # [N, K, C, H, W]
        y = lines.max(dim=1).values
        spatial = None
        if self.variant == "C":
            spatial = self.spatial_attention(x)
            y = y * spatial.reshape(n, 1, h, w)
        if trace is not None:
            trace.append({"activation": {
                "variant": self.variant, "pieces": self.pieces, "channels": self.coeff_channels,
                "a": a.detach().reshape(n, -1), "b": b.detach().reshape(n, -1),
                "spatial": spatial.detach() if spatial is not None else None,
                "height": h if spatial is not None else None,
                "width": w if spatial is not None else None,
            }})
        return y

    def attrs(self) -> dict:
        out = {"variant": self.variant, "pieces": self.pieces, "reduction": self.reduction,
               "min_hidden": self.min_hidden, "lambda_a": self.lambda_a, "lambda_b": self.lambda_b,
               "alpha": self.alpha, "beta": self.beta, "layout": self.layout, "squash": self.squash_kind}
        if self.variant == "C":
            out["spatial_tau"] = self.spatial_tau
            if self.spatial_gamma is not None:
                out["spatial_gamma"] = self.spatial_gamma
        return out

    def weight_roles(self) -> dict[str, str]:
        out = self.hyper.roles("hyper")
        if self.spatial is not None:
            out["spatial_weight"] = "spatial.weight"
            if self.spatial.bias is not None:
                out["spatial_bias"] = "spatial.bias"
        return out

    @classmethod
    def from_spec(cls, attrs, tensors):
        m = cls(tensors["fc1_weight"].shape[1], attrs["variant"], attrs.get("pieces", 2), attrs.get("reduction", 8),
                attrs.get("min_hidden", 4), attrs.get("lambda_a", 1.0), attrs.get("lambda_b", 0.5),
                attrs.get("alpha"), attrs.get("beta"), attrs["layout"], attrs["squash"],
                attrs.get("spatial_tau", 10.0), attrs.get("spatial_gamma"),
                spatial_bias="spatial_bias" in tensors)
        m.hyper = AttentionMLP.from_tensors(tensors)
        if m.spatial is not None:
            m.spatial.weight = _copy_param(tensors["spatial_weight"])
            if "spatial_bias" in tensors:
                m.spatial.bias = _copy_param(tensors["spatial_bias"])
        return m


# --------------------------------------------------------------------------------------------
# Plain ops


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
        m.weight = _copy_param(tensors["weight"])
        if "bias" in tensors:
            m.bias = _copy_param(tensors["bias"])
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
        m.weight = _copy_param(tensors["weight"])
        m.bias = _copy_param(tensors["bias"])
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
    """relu, relu6, hard_swish or sigmoid."""

    FUNCTIONS = {"relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid,
                 "hard_swish": lambda x: x * F.relu6(x + 3.0) / 6.0}

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
        m.weight = _copy_param(w)
        if "bias" in tensors:
            m.bias = _copy_param(tensors["bias"])
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


def node_from_spec(op: str, attrs: dict, tensors: dict[str, torch.Tensor]) -> Node:
    """Rebuild a node from its model.json entry and its tensors (role -> tensor)."""
    if op in Activation.FUNCTIONS:
        return Activation(op)
    if op in ("avg_pool2d", "max_pool2d"):
        return Pool2d.from_op(op, attrs)
    classes = {c.op: c for c in (DynamicConv2d, DyReLU, Conv2d, BatchNorm, Normalize, Add,
                                 GlobalAvgPool, Flatten, Linear, Softmax)}
    if op not in classes:
        raise ValueError(f"unknown op {op!r}")
    return classes[op].from_spec(attrs, tensors)
