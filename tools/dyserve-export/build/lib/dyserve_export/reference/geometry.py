"""Geometry of convolutions and pools, and the small numeric helpers every reference op shares.

Padding is always (top, left, bottom, right) internally."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


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
