"""Islanna/DynamicReLU's DY-ReLU A and B, re-implemented.

Layout as that repository writes it:
- `fc1`: Linear(C, C // reduction) -> ReLU -> `fc2`: Linear(C // reduction, 2k) for A (one set of
  coefficients for all channels) or Linear(C // reduction, 2k * C) for B (one set per channel);
- theta = 2 sigmoid(fc2(relu(fc1(mean over H, W)))) - 1;
- buffers `lambdas` = [1]*k + [0.5]*k and `init_v` = [1] + [0]*(2k - 1); the coefficients are
  theta * lambdas + init_v, viewed as [N, 2k] (A) or [N, C, 2k] (B): the first k are the slopes a^1..a^k,
  the last k the intercepts b^1..b^k;
- y = max_k (a^k x + b^k).
Only conv_type "2d" runs on NCHW images; "1d" ([N, C, L]) is kept so a converter can refuse it.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class DyReLU(nn.Module):
    def __init__(self, channels: int, reduction: int = 4, k: int = 2, conv_type: str = "2d"):
        super().__init__()
        if conv_type not in ("1d", "2d"):
            raise ValueError(f"conv_type must be 1d or 2d, got {conv_type!r}")
        self.channels, self.k, self.conv_type = channels, k, conv_type
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(channels // reduction, 2 * k)
        self.sigmoid = nn.Sigmoid()
        self.register_buffer("lambdas", torch.tensor([1.0] * k + [0.5] * k))
        self.register_buffer("init_v", torch.tensor([1.0] + [0.0] * (2 * k - 1)))

    def get_theta(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=-1)
        if self.conv_type == "2d":
            pooled = pooled.mean(dim=-1)
        return 2 * self.sigmoid(self.fc2(self.relu(self.fc1(pooled)))) - 1

    def forward(self, x):
        raise NotImplementedError


class DyReLUA(DyReLU):
    def __init__(self, channels: int, reduction: int = 4, k: int = 2, conv_type: str = "2d"):
        super().__init__(channels, reduction, k, conv_type)
        self.fc2 = nn.Linear(channels // reduction, 2 * k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coefs = self.get_theta(x).reshape(-1, 2 * self.k) * self.lambdas + self.init_v  # [N, 2k]
        shape = (x.shape[0], self.k) + (1,) * (x.dim() - 1)
        a, b = coefs[:, :self.k].reshape(shape), coefs[:, self.k:].reshape(shape)
        return (x.unsqueeze(1) * a + b).max(dim=1).values


class DyReLUB(DyReLU):
    def __init__(self, channels: int, reduction: int = 4, k: int = 2, conv_type: str = "2d"):
        super().__init__(channels, reduction, k, conv_type)
        self.fc2 = nn.Linear(channels // reduction, 2 * k * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coefs = self.get_theta(x).reshape(-1, self.channels, 2 * self.k) * self.lambdas + self.init_v
        spatial = (1,) * (x.dim() - 2)
        a = coefs[:, :, :self.k].permute(0, 2, 1).reshape(x.shape[0], self.k, self.channels, *spatial)
        b = coefs[:, :, self.k:].permute(0, 2, 1).reshape(x.shape[0], self.k, self.channels, *spatial)
        return (x.unsqueeze(1) * a + b).max(dim=1).values
