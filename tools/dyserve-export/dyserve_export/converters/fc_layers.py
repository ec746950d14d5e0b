"""Fully connected layers of attention and hyper networks, however a repository writes them.

The papers' modules and Islanna / DynamicHead use `nn.Linear` on the pooled vector; kaijieshi7 uses
1x1 `nn.Conv2d` on the pooled [N, C, 1, 1] map. Both are the same matrix product; this reads either
as a [out, in] matrix and an optional [out] bias, and refuses anything else (a 3x3 kernel, a stride,
groups) with the module's path.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn


def fc_tensors(ctx, path: str, owner: nn.Module, fc: nn.Module, role: str) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """(weight [out, in], bias [out] or None) of `fc`, a Linear or a 1x1 Conv2d; `role` names it in errors."""
    if isinstance(fc, nn.Linear):
        return fc.weight.detach(), fc.bias.detach() if fc.bias is not None else None
    if isinstance(fc, nn.Conv2d):
        plain = (tuple(fc.kernel_size) == (1, 1) and tuple(fc.stride) == (1, 1) and fc.groups == 1
                 and tuple(fc.dilation) == (1, 1) and fc.padding in ((0, 0), "valid"))
        if not plain:
            ctx.fail(path, owner, f"{role} is a Conv2d with kernel {tuple(fc.kernel_size)}, stride "
                                  f"{tuple(fc.stride)}, padding {fc.padding}, groups {fc.groups}: only a plain "
                                  f"1x1 convolution acts as a fully connected layer on the pooled input")
        weight = fc.weight.detach().reshape(fc.out_channels, fc.in_channels)
        return weight, fc.bias.detach() if fc.bias is not None else None
    ctx.fail(path, owner, f"{role} is a {type(fc).__name__}, expected nn.Linear or a 1x1 nn.Conv2d")


def mlp_weights(ctx, path: str, owner: nn.Module, fc1: nn.Module, fc2: nn.Module) -> dict[str, torch.Tensor]:
    """The fc1 / fc2 roles of a dynamic_conv2d or dy_relu node, checking that the widths chain."""
    w1, b1 = fc_tensors(ctx, path, owner, fc1, "fc1")
    w2, b2 = fc_tensors(ctx, path, owner, fc2, "fc2")
    if w2.shape[1] != w1.shape[0]:
        ctx.fail(path, owner, f"fc2 takes {w2.shape[1]} inputs but fc1 gives {w1.shape[0]}")
    out = {"fc1_weight": w1}
    if b1 is not None:
        out["fc1_bias"] = b1
    out["fc2_weight"] = w2
    if b2 is not None:
        out["fc2_bias"] = b2
    return out
