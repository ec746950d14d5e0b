"""microsoft/DynamicHead's DY-ReLU (`DYReLU`) and its hard sigmoid, re-implemented.

Layout as that repository writes it:
- `fc` = Sequential(Linear(inp, squeeze), ReLU, Linear(squeeze, oup * exp), h_sigmoid()), with
  squeeze = inp // 4 when reduction is 4, else inp // reduction rounded to a multiple of 4 by
  `_make_divisible`; y = fc(GAP(x)) lies in [0, 1];
- exp = 4 (K2 and use_bias: blocks a1|b1|a2|b2), 2 (K2 without bias: a1|a2; or bias without K2:
  a1|b1), 1 (a1 only), each block `oup` channels;
- `lambda_a` is stored doubled; a_i = (y_ai - 0.5) * lambda_a + init_a[i], b_i = y_bi - 0.5 + init_b[i];
  out = max(x a1 + b1, x a2 + b2) (or the one- or bias-free forms);
- optional spatial branch `spa` = Sequential(1x1 Conv2d(inp, 1) with bias, BatchNorm2d(1)):
  ys = clamp(softmax over H*W of spa(x) * H * W, 0, 3) / 3, out = out * ys.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _make_divisible(v, divisor, min_value=None):
    """Round v to the nearest multiple of divisor, not below min_value nor 10% below v."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


class h_sigmoid(nn.Module):  # noqa: N801 - the repository's class name
    def __init__(self, inplace: bool = True, h_max: float = 1):
        super().__init__()
        self.relu = nn.ReLU6(inplace=inplace)
        self.h_max = h_max

    def forward(self, x):
        return self.relu(x + 3) * self.h_max / 6


class DYReLU(nn.Module):
    def __init__(self, inp: int, oup: int, norm_layer=nn.BatchNorm2d, reduction: int = 4, lambda_a: float = 1.0,
                 K2: bool = True, use_bias: bool = True, use_spatial: bool = False,
                 init_a=(1.0, 0.0), init_b=(0.0, 0.0)):
        super().__init__()
        self.oup = oup
        self.lambda_a = lambda_a * 2
        self.K2, self.use_bias = K2, use_bias
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.exp = (4 if use_bias else 2) if K2 else (2 if use_bias else 1)
        self.init_a, self.init_b = list(init_a), list(init_b)
        squeeze = inp // reduction if reduction == 4 else _make_divisible(inp // reduction, 4)
        self.fc = nn.Sequential(nn.Linear(inp, squeeze), nn.ReLU(inplace=True),
                                nn.Linear(squeeze, oup * self.exp), h_sigmoid())
        self.spa = nn.Sequential(nn.Conv2d(inp, 1, kernel_size=1), norm_layer(1)) if use_spatial else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = self.fc(self.avg_pool(x).reshape(n, c)).reshape(n, self.oup * self.exp, 1, 1)
        blocks = torch.split(y, self.oup, dim=1)

        def slope(block, i):
            return (block - 0.5) * self.lambda_a + self.init_a[i]

        def intercept(block, i):
            return block - 0.5 + self.init_b[i]

        if self.exp == 4:
            a1, b1, a2, b2 = blocks
            out = torch.max(x * slope(a1, 0) + intercept(b1, 0), x * slope(a2, 1) + intercept(b2, 1))
        elif self.exp == 2 and self.use_bias:
            a1, b1 = blocks
            out = x * slope(a1, 0) + intercept(b1, 0)
        elif self.exp == 2:
            a1, a2 = blocks
            out = torch.max(x * slope(a1, 0), x * slope(a2, 1))
        else:
            out = x * slope(blocks[0], 0)
        if self.spa is not None:
            ys = F.softmax(self.spa(x).reshape(n, -1), dim=1).reshape(n, 1, h, w) * h * w
            out = out * (F.hardtanh(ys, 0, 3) / 3)
        return out
