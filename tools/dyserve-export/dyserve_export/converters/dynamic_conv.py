"""Converters for dynamic convolutions with their own attention (one `dynamic_conv2d` node each).

Two ways people write them, both recognised by structure (a rank-5 expert tensor plus an attention
submodule with two fully connected layers), so renamed classes and subclasses convert too:

- the papers' form (Chen et al., CVPR 2020), this project's `DynamicConv2d`: `weight` [K, out, in/g, kh, kw],
  `bias` [K, out], `attention.fc1` / `attention.fc2` as nn.Linear, geometry in `geom`, `routing`
  softmax or sigmoid. Its forward computes with the tau it is called with, 1 by default.
- kaijieshi7/Dynamic-convolution-Pytorch's `Dynamic_conv2d`: same expert layout, a square
  `kernel_size` int, `stride` / `padding` / `dilation` / `groups` attributes, attention FCs as 1x1
  convolutions, softmax of z / `attention.temperature` (whatever annealing left there).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..registry import Converter, register_builtin
from .fc_layers import mlp_weights


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def conv_geometry(ctx, path: str, module: nn.Module, in_shape, kernel, stride, padding, dilation,
                  groups: int, tf_same: bool = False) -> dict:
    """model.json geometry attributes of a convolution as PyTorch computes it.

    `padding` is an int, a pair, "valid" or "same" (F.conv2d's forms); `tf_same` asks for TensorFlow's
    SAME padding computed from the input size (asymmetric, the extra row / column at the bottom / right).
    """
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    h, w = int(in_shape[2]), int(in_shape[3])
    if tf_same:
        def same(size, k, s, d):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            return total // 2, total - total // 2
        (top, bottom), (left, right) = same(h, kh, sh, dh), same(w, kw, sw, dw)
    elif padding == "valid":
        top = bottom = left = right = 0
    elif padding == "same":
        if (sh, sw) != (1, 1):
            ctx.fail(path, module, f"padding 'same' with stride {(sh, sw)} (PyTorch allows it only with stride 1)")
        # PyTorch puts the odd extra padding at the bottom / right, like TensorFlow.
        th, tw = dh * (kh - 1), dw * (kw - 1)
        top, bottom, left, right = th // 2, th - th // 2, tw // 2, tw - tw // 2
    elif isinstance(padding, str):
        ctx.fail(path, module, f"padding {padding!r} (supported: an int, a pair, 'valid', 'same')")
    else:
        ph, pw = _pair(padding)
        top, bottom, left, right = ph, ph, pw, pw
    attrs = {"kernel_size": kh if kh == kw else [kh, kw], "stride": sh if sh == sw else [sh, sw]}
    if (top, left, bottom, right) != (0, 0, 0, 0):
        attrs["padding"] = compact_padding(top, left, bottom, right)
    if (dh, dw) != (1, 1):
        attrs["dilation"] = dh if dh == dw else [dh, dw]
    if groups != 1:
        attrs["groups"] = int(groups)
    return attrs


def compact_padding(top: int, left: int, bottom: int, right: int):
    """The shortest model.json spelling: p, [ph, pw] or [top, left, bottom, right]."""
    if top == bottom and left == right:
        return top if top == left else [top, left]
    return [top, left, bottom, right]


def expert_tensors(ctx, path: str, module: nn.Module, in_channels: int, groups: int) -> dict[str, torch.Tensor]:
    """`weight` [K, out, in/g, kh, kw] and optional `bias` [K, out] of a module, checked against each other."""
    weight = module.weight.detach()
    if weight.dim() != 5:
        ctx.fail(path, module, f"expert weight of shape {list(weight.shape)}, expected [K, out, in/groups, kh, kw]")
    experts, out_channels, per_group = weight.shape[:3]
    if per_group * groups != in_channels:
        ctx.fail(path, module, f"expert weight takes {per_group} channels per group x {groups} groups, "
                               f"but the input has {in_channels} channels")
    out = {"weight": weight}
    bias = getattr(module, "bias", None)
    if isinstance(bias, torch.Tensor):
        if tuple(bias.shape) != (experts, out_channels):
            ctx.fail(path, module, f"expert bias of shape {list(bias.shape)}, expected [{experts}, {out_channels}]")
        out["bias"] = bias.detach()
    return out


def attention_fcs(module: nn.Module):
    """(fc1, fc2) of `module.attention` when it is a two-layer attention, else None."""
    attention = getattr(module, "attention", None)
    fc1, fc2 = getattr(attention, "fc1", None), getattr(attention, "fc2", None)
    if isinstance(fc1, (nn.Linear, nn.Conv2d)) and isinstance(fc2, (nn.Linear, nn.Conv2d)):
        return fc1, fc2
    return None


def check_attention_layers(ctx, path: str, module: nn.Module) -> None:
    """Refuse an attention holding weighted layers besides fc1 and fc2 (e.g. a batch norm in between):
    the format's attention is exactly GAP -> FC1 -> ReLU -> FC2."""
    extra = [name for name, sub in module.attention.named_modules()
             if name and name not in ("fc1", "fc2") and any(True for _ in sub.parameters(recurse=False))]
    if extra:
        ctx.fail(path, module, f"its attention has weighted layers besides fc1 and fc2 ({', '.join(extra)}); "
                               f"dyserve's attention is GAP -> fc1 -> ReLU -> fc2")


def single_input(ctx, path: str, module: nn.Module, args: list):
    if len(args) != 1:
        ctx.fail(path, module, f"called with {len(args)} tensor arguments, expected 1")
    x = args[0]
    if len(x.shape) != 4:
        ctx.fail(path, module, f"input of shape {list(x.shape)}, expected NCHW")
    return x


class PaperDynamicConvConverter(Converter):
    """The papers' dynamic convolution: rank-5 experts, Linear attention, `geom` and `routing` attributes."""

    name = "dynamic_conv.paper"

    def matches(self, module: nn.Module) -> bool:
        weight = getattr(module, "weight", None)
        return (isinstance(weight, torch.Tensor) and weight.dim() == 5 and attention_fcs(module) is not None
                and hasattr(module, "geom") and getattr(module, "routing", None) is not None)

    def convert(self, ctx, module, path, args):
        if getattr(module, "external_routing", False) or len(args) != 1:
            ctx.fail(path, module, "an externally routed DynamicConv2d inside a PyTorch network "
                                   "(use timm's CondConv2d layout or give it its own attention)")
        x = single_input(ctx, path, module, args)
        if module.routing not in ("softmax", "sigmoid"):
            ctx.fail(path, module, f"routing {module.routing!r} (supported: softmax, sigmoid)")
        check_attention_layers(ctx, path, module)
        geom = module.geom
        attrs = {"out_channels": int(module.weight.shape[1])}
        attrs.update(conv_geometry(ctx, path, module, x.shape, geom.kernel, geom.stride, 0, geom.dilation,
                                   geom.groups))
        if tuple(geom.padding) != (0, 0, 0, 0):
            attrs["padding"] = compact_padding(*geom.padding)
        attrs["experts"] = int(module.weight.shape[0])
        attrs["routing"] = module.routing
        if module.routing == "softmax":
            # Its forward uses the tau it is called with (1 when a network calls it as module(x));
            # its `temperature` attribute only matters to a dyserve graph, which resolves tau itself.
            if module.temperature is not None and float(module.temperature) != 1.0:
                ctx.fail(path, module, f"temperature attribute {module.temperature} while its forward, called as "
                                       f"module(x), routes with tau = 1: set temperature to None or 1.0, or "
                                       f"export the network with tau = 1 as it computes")
            attrs["temperature"] = 1.0
        weights = expert_tensors(ctx, path, module, int(x.shape[1]), geom.groups)
        weights.update(mlp_weights(ctx, path, module, *attention_fcs(module)))
        return ctx.add_node("dynamic_conv2d", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)


class KaijieshiDynamicConvConverter(Converter):
    """kaijieshi7's Dynamic_conv2d: rank-5 experts, attention FCs as 1x1 convs, softmax(z / temperature)."""

    name = "dynamic_conv.kaijieshi7"

    def matches(self, module: nn.Module) -> bool:
        weight = getattr(module, "weight", None)
        return (isinstance(weight, torch.Tensor) and weight.dim() == 5 and attention_fcs(module) is not None
                and hasattr(module.attention, "temperature") and hasattr(module, "kernel_size")
                and hasattr(module, "groups"))

    def convert(self, ctx, module, path, args):
        x = single_input(ctx, path, module, args)
        check_attention_layers(ctx, path, module)
        tau = module.attention.temperature
        if isinstance(tau, torch.Tensor):
            tau = tau.item()
        if not isinstance(tau, (int, float)) or not math.isfinite(tau) or tau <= 0:
            ctx.fail(path, module, f"attention.temperature {tau!r} (must be a positive number)")
        kernel = _pair(module.kernel_size)
        if tuple(module.weight.shape[3:]) != kernel:
            ctx.fail(path, module, f"kernel_size {module.kernel_size} but expert weight of shape {list(module.weight.shape)}")
        groups = int(module.groups)
        attrs = {"out_channels": int(module.weight.shape[1])}
        attrs.update(conv_geometry(ctx, path, module, x.shape, kernel, getattr(module, "stride", 1),
                                   getattr(module, "padding", 0), getattr(module, "dilation", 1), groups))
        attrs.update({"experts": int(module.weight.shape[0]), "routing": "softmax", "temperature": float(tau)})
        weights = expert_tensors(ctx, path, module, int(x.shape[1]), groups)
        weights.update(mlp_weights(ctx, path, module, *attention_fcs(module)))
        if weights["fc2_weight"].shape[0] != attrs["experts"]:
            ctx.fail(path, module, f"attention gives {weights['fc2_weight'].shape[0]} logits for {attrs['experts']} experts")
        return ctx.add_node("dynamic_conv2d", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)


register_builtin(PaperDynamicConvConverter())
register_builtin(KaijieshiDynamicConvConverter())
