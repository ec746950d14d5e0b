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
from .geometry import padding_sides, pair, window_attrs


def conv_geometry(ctx, path: str, module: nn.Module, in_shape, kernel, stride, padding, dilation,
                  groups: int, tf_same: bool = False) -> dict:
    """model.json geometry attributes of a convolution as PyTorch computes it: `padding` in any of
    F.conv2d's forms, or TensorFlow's SAME from the input size when `tf_same` (timm's dynamic padding)."""
    try:
        sides = padding_sides(padding, kernel, dilation, stride, (int(in_shape[2]), int(in_shape[3])), tf_same)
    except ValueError as error:
        ctx.fail(path, module, str(error))
    return window_attrs(kernel, stride, sides, dilation, groups)


def own_parameter(module: nn.Module, name: str):
    """A parameter registered on `module` itself, or None. Read from `_parameters`, not through
    `getattr`: `matches` runs while torch.fx traces the network, and fx records every parameter read
    through Module.__getattr__ as a graph node."""
    return module._parameters.get(name)


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


def attention_weights(ctx, path: str, module: nn.Module, experts: int) -> dict[str, torch.Tensor]:
    """The fc1 / fc2 roles of `module.attention`, which must give one logit per expert."""
    weights = mlp_weights(ctx, path, module, *attention_fcs(module))
    if weights["fc2_weight"].shape[0] != experts:
        ctx.fail(path, module, f"its attention gives {weights['fc2_weight'].shape[0]} logits for {experts} experts")
    return weights


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
        weight = own_parameter(module, "weight")
        return (weight is not None and weight.dim() == 5 and attention_fcs(module) is not None
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
        attrs.update(window_attrs(geom.kernel, geom.stride, tuple(geom.padding), geom.dilation, geom.groups))
        attrs["experts"] = int(module.weight.shape[0])
        attrs["routing"] = module.routing
        if module.routing == "softmax":
            # Its forward uses the tau it is called with (1 when a network calls it as module(x));
            # its `temperature` attribute only matters to a dyserve graph, which resolves tau itself.
            if module.temperature is not None and float(module.temperature) != 1.0:
                ctx.fail(path, module, f"temperature attribute {module.temperature}, but its forward, called as "
                                       f"module(x), routes with tau = 1: set the attribute to None or 1.0")
            attrs["temperature"] = 1.0
        weights = expert_tensors(ctx, path, module, int(x.shape[1]), geom.groups)
        weights.update(attention_weights(ctx, path, module, attrs["experts"]))
        return ctx.add_node("dynamic_conv2d", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)

    def attention(self, module, inputs):
        """pi as its forward computes it when called as module(x): tau 1."""
        logits = module.attention(inputs[0])
        return torch.softmax(logits, dim=1) if module.routing == "softmax" else torch.sigmoid(logits)


class KaijieshiDynamicConvConverter(Converter):
    """kaijieshi7's Dynamic_conv2d: rank-5 experts, attention FCs as 1x1 convs, softmax(z / temperature)."""

    name = "dynamic_conv.kaijieshi7"

    def matches(self, module: nn.Module) -> bool:
        weight = own_parameter(module, "weight")
        return (weight is not None and weight.dim() == 5 and attention_fcs(module) is not None
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
        kernel = pair(module.kernel_size)
        if tuple(module.weight.shape[3:]) != kernel:
            ctx.fail(path, module, f"kernel_size {module.kernel_size} but expert weight of shape {list(module.weight.shape)}")
        groups = int(module.groups)
        attrs = {"out_channels": int(module.weight.shape[1])}
        attrs.update(conv_geometry(ctx, path, module, x.shape, kernel, getattr(module, "stride", 1),
                                   getattr(module, "padding", 0), getattr(module, "dilation", 1), groups))
        attrs.update({"experts": int(module.weight.shape[0]), "routing": "softmax", "temperature": float(tau)})
        weights = expert_tensors(ctx, path, module, int(x.shape[1]), groups)
        weights.update(attention_weights(ctx, path, module, attrs["experts"]))
        return ctx.add_node("dynamic_conv2d", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)

    def attention(self, module, inputs):
        """pi = its attention2d's output, softmax(z / temperature)."""
        return module.attention(inputs[0])


register_builtin(PaperDynamicConvConverter())
register_builtin(KaijieshiDynamicConvConverter())
