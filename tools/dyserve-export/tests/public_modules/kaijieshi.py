"""kaijieshi7/Dynamic-convolution-Pytorch's 2-D dynamic convolution, re-implemented.

Layout as that repository writes it:
- `Dynamic_conv2d.weight`: [K, out, in/groups, k, k] (a square kernel given as one int),
  `Dynamic_conv2d.bias`: [K, out] or None;
- `Dynamic_conv2d.attention` (`attention2d`): `avgpool` -> `fc1` (1x1 conv, no bias) -> ReLU ->
  `fc2` (1x1 conv, with bias) -> softmax(z / temperature) over the K experts;
- hidden width `int(in * ratio) + 1`, except for a 3-channel (RGB) input where it is K;
- `temperature` is a plain attribute of the attention, lowered by 3 per `update_temperature()` call
  until it reaches 1 (the repository asserts temperature % 3 == 1, e.g. 34, 31, ..., 1);
- the forward folds the batch into the channels and runs one grouped convolution with
  groups = groups * batch, each sample with its own aggregated kernel.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class attention2d(nn.Module):  # noqa: N801 - the repository's class name
    def __init__(self, in_planes: int, ratios: float, K: int, temperature: int, init_weight: bool = True):
        super().__init__()
        if temperature % 3 != 1:
            raise ValueError(f"temperature must be 1 modulo 3 (annealed by steps of 3 to 1), got {temperature}")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = K if in_planes == 3 else int(in_planes * ratios) + 1
        self.fc1 = nn.Conv2d(in_planes, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, K, 1, bias=True)
        self.temperature = temperature
        if init_weight:
            for conv in (self.fc1, self.fc2):
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                if conv.bias is not None:
                    nn.init.zeros_(conv.bias)

    def updata_temperature(self):  # the repository's spelling
        if self.temperature != 1:
            self.temperature -= 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.fc2(F.relu(self.fc1(self.avgpool(x))))
        return F.softmax(z.reshape(x.shape[0], -1) / self.temperature, dim=1)


class Dynamic_conv2d(nn.Module):  # noqa: N801 - the repository's class name
    def __init__(self, in_planes: int, out_planes: int, kernel_size: int, ratio: float = 0.25, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True, K: int = 4,
                 temperature: int = 34, init_weight: bool = True):
        super().__init__()
        if in_planes % groups:
            raise ValueError(f"in_planes {in_planes} not divisible by groups {groups}")
        self.in_planes, self.out_planes = in_planes, out_planes
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.K = dilation, groups, K
        self.attention = attention2d(in_planes, ratio, K, temperature)
        self.weight = nn.Parameter(torch.randn(K, out_planes, in_planes // groups, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(K, out_planes)) if bias else None
        if init_weight:
            for k in range(K):
                nn.init.kaiming_uniform_(self.weight.data[k])

    def update_temperature(self):
        self.attention.updata_temperature()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pi = self.attention(x)  # [N, K]
        n, _, h, w = x.shape
        kernels = (pi @ self.weight.reshape(self.K, -1)).reshape(
            n * self.out_planes, self.in_planes // self.groups, self.kernel_size, self.kernel_size)
        biases = (pi @ self.bias).reshape(-1) if self.bias is not None else None
        y = F.conv2d(x.reshape(1, -1, h, w), kernels, biases, stride=self.stride, padding=self.padding,
                     dilation=self.dilation, groups=self.groups * n)
        return y.reshape(n, self.out_planes, y.shape[-2], y.shape[-1])
