"""Dynamic ReLU A/B/C (Chen et al., ECCV 2020)."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from .attention import AttentionMLP
from .geometry import hidden_size, init_uniform
from .node import Node, copy_param


LAYOUTS = ("paper", "per_channel", "pairs")
SQUASHES = ("sigmoid", "hard_sigmoid")


def coefficient_indices(layout: str, pieces: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Index into the 2*K*C hyper outputs of a^k_c and b^k_c, as [K, C] tensors (docs/model-format.md)."""
    k, c, K, C = _grid(pieces, channels)
    if layout == "paper":
        return k * C + c, (K + k) * C + c
    if layout == "per_channel":
        return c * 2 * K + k, c * 2 * K + K + k
    if layout == "pairs":
        return 2 * k * C + c, (2 * k + 1) * C + c
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def slope_indices(layout: str, pieces: int, channels: int) -> torch.Tensor:
    """Index into the K*C hyper outputs of a DY-ReLU without intercepts (`bias` false) of a^k_c, [K, C]."""
    k, c, K, C = _grid(pieces, channels)
    if layout in ("paper", "pairs"):
        return k * C + c
    if layout == "per_channel":
        return c * K + k
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _grid(pieces: int, channels: int):
    return torch.arange(pieces).reshape(pieces, 1), torch.arange(channels).reshape(1, channels), pieces, channels


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
                 spatial_bias: bool = True, gen: Optional[torch.Generator] = None, bias: bool = True):
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
        # Without intercepts (bias false) the hyper network outputs only the K slopes per channel.
        self.intercepts = bool(bias)
        hidden = hidden_size(channels, reduction, min_hidden)
        self.hyper = AttentionMLP(channels, hidden, (2 if self.intercepts else 1) * pieces * self.coeff_channels,
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
        alpha = torch.tensor(self.alpha, dtype=x.dtype).reshape(1, -1, 1)
        beta = torch.tensor(self.beta, dtype=x.dtype).reshape(1, -1, 1)
        if not self.intercepts:  # every b^k_c is the constant beta_k
            da = theta[:, slope_indices(self.layout, self.pieces, self.coeff_channels)]
            return alpha + self.lambda_a * da, beta.expand(x.shape[0], self.pieces, self.coeff_channels)
        ia, ib = coefficient_indices(self.layout, self.pieces, self.coeff_channels)
        da, db = theta[:, ia], theta[:, ib]
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
        if not self.intercepts:
            out["bias"] = False
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
                spatial_bias="spatial_bias" in tensors, bias=attrs.get("bias", True))
        m.hyper = AttentionMLP.from_tensors(tensors)
        if m.spatial is not None:
            m.spatial.weight = copy_param(tensors["spatial_weight"])
            if "spatial_bias" in tensors:
                m.spatial.bias = copy_param(tensors["spatial_bias"])
        return m
