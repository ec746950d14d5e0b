"""Converters of the standard layers as torchvision and timm write them.

Conv2d (groups, stride, dilation, every padding form; timm's Conv2dSame as static TF "SAME" padding
for the example input size), BatchNorm2d and timm's BatchNormAct2d (written as a batch_norm node the
loader folds into the convolution before it, then the activation), ReLU / ReLU6 / Hardswish /
Hardsigmoid / SiLU / Sigmoid, Linear, adaptive and fixed average / max pools, Flatten, Softmax, and
Dropout / Identity / DropPath (nothing in eval mode). A parameter-free module of another class is
recognised by what it computes: probed on test inputs, it converts when it is exactly one of those
element-wise functions or the identity.

Function calls (torch.flatten, F.relu, x + y, x * gate, x.mean((2, 3)), ...) are in functions.py.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import Converter, register_builtin
from .geometry import pair, padding_sides, pooled_size, tf_same_padding, window_attrs


def class_names(module) -> set[str]:
    return {cls.__name__ for cls in type(module).__mro__}


def own_forward(module: nn.Module, base: type) -> bool:
    """True when the module computes exactly what `base` does (its class does not override forward)."""
    return isinstance(module, base) and type(module).forward is base.forward


def has_state(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))


def one_input(ctx, path, module, args, rank: int | None = 4):
    if len(args) != 1:
        ctx.fail(path, module, f"called with {len(args)} tensor arguments, expected 1")
    if rank is not None and len(args[0].shape) != rank:
        ctx.fail(path, module, f"input of shape {list(args[0].shape)}, expected rank {rank}")
    return args[0]


# --------------------------------------------------------------------------------------------
# Convolution

# timm's TensorFlow-"SAME" convolutions (padding computed from the input size in forward).
TF_SAME_CONVS = {"Conv2dSame", "Conv2dSameExport"}


class Conv2dConverter(Converter):
    name = "standard.conv2d"

    def matches(self, module):
        return own_forward(module, nn.Conv2d) or (isinstance(module, nn.Conv2d) and bool(class_names(module) & TF_SAME_CONVS))

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args)
        if module.padding_mode != "zeros":
            ctx.fail(path, module, f"padding_mode {module.padding_mode!r}: dyserve pads with zeros only")
        tf_same = bool(class_names(module) & TF_SAME_CONVS)
        try:
            sides = padding_sides(module.padding, module.kernel_size, module.dilation, module.stride,
                                  x.shape[2:], tf_same=tf_same)
        except ValueError as error:
            ctx.fail(path, module, str(error))
        attrs = {"out_channels": module.out_channels,
                 **window_attrs(module.kernel_size, module.stride, sides, module.dilation, module.groups)}
        weights = {"weight": module.weight}
        if module.bias is not None:
            weights["bias"] = module.bias
        return ctx.add_node("conv2d", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)


# --------------------------------------------------------------------------------------------
# Batch norm


def batch_norm_node(ctx, module, path, x, module_path):
    if not module.track_running_stats or module.running_mean is None or module.running_var is None:
        ctx.fail(path, module, "no running statistics (track_running_stats=False): in eval mode it normalises "
                               "with each batch's own statistics, which a served model cannot reproduce")
    channels = module.running_mean.shape[0]
    if x.shape[1] != channels:
        ctx.fail(path, module, f"input has {x.shape[1]} channels, the batch norm {channels}")
    weights = {"weight": module.weight if module.weight is not None else torch.ones(channels),
               "bias": module.bias if module.bias is not None else torch.zeros(channels),
               "running_mean": module.running_mean, "running_var": module.running_var}
    return ctx.add_node("batch_norm", [x], attrs={"eps": float(module.eps)}, weights=weights,
                        name_hint=path, module_path=module_path)


class BatchNorm2dConverter(Converter):
    name = "standard.batch_norm"

    def matches(self, module):
        return own_forward(module, nn.BatchNorm2d)

    def convert(self, ctx, module, path, args):
        return batch_norm_node(ctx, module, path, one_input(ctx, path, module, args), path)


class BatchNormActConverter(Converter):
    """timm's BatchNormAct2d: a BatchNorm2d subclass whose forward then applies `drop` and `act`."""

    name = "standard.batch_norm_act"

    def matches(self, module):
        return (isinstance(module, nn.BatchNorm2d) and "BatchNormAct2d" in class_names(module)
                and isinstance(getattr(module, "act", None), nn.Module))

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args)
        y = batch_norm_node(ctx, module, path, x, path + ".bn")
        drop = getattr(module, "drop", None)
        if isinstance(drop, nn.Module):
            y = ctx.convert_module(drop, path + ".drop", [y])
        return ctx.convert_module(module.act, path + ".act", [y])


# --------------------------------------------------------------------------------------------
# Element-wise activations and the identity

ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hard_swish", nn.Hardsigmoid: "hard_sigmoid",
               nn.SiLU: "silu", nn.Sigmoid: "sigmoid"}

# Modules that are the identity in eval mode.
IDENTITIES = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
              nn.FeatureAlphaDropout)


def activation_op(module) -> str | None:
    for cls, op in ACTIVATIONS.items():
        if own_forward(module, cls):
            return op
    if own_forward(module, nn.Hardtanh) and (module.min_val, module.max_val) == (0.0, 6.0):
        return "relu6"
    return None


class ActivationConverter(Converter):
    name = "standard.activation"

    def matches(self, module):
        return activation_op(module) is not None

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args, rank=None)
        return ctx.add_node(activation_op(module), [x], name_hint=path, module_path=path)


class IdentityConverter(Converter):
    """Identity, Dropout (eval mode): no node; the module's output is its input."""

    name = "standard.identity"

    def matches(self, module):
        return any(own_forward(module, cls) for cls in IDENTITIES)

    def convert(self, ctx, module, path, args):
        return one_input(ctx, path, module, args, rank=None)


PROBES = {
    "identity": lambda x: x,
    "relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid, "silu": F.silu,
    "hard_sigmoid": F.hardsigmoid, "hard_swish": F.hardswish,
}


def probe_inputs() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    line = torch.linspace(-8.0, 8.0, 321, dtype=torch.float64).reshape(1, 1, 1, 321)
    return [line, 6.0 * torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)]


def probed_function(module: nn.Module) -> str | None:
    """The element-wise function a parameter-free module computes in eval mode, if it is one we write."""
    if has_state(module) or any(True for _ in module.children()) or module.training:
        return None
    outputs = []
    try:
        with torch.no_grad():
            for x in probe_inputs():
                outputs.append((x, module(x.clone())))
    except Exception:  # not an element-wise module: its forward wants other inputs
        return None
    for op, fn in PROBES.items():
        if all(isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype
               and bool(torch.allclose(y, fn(x), rtol=1e-12, atol=1e-12)) for x, y in outputs):
            return op
    return None


class ProbedElementwiseConverter(Converter):
    """A parameter-free module of an unknown class (timm's DropPath, a hand-written HardSigmoid or
    Swish, ...) that computes exactly the identity or one of the activations above."""

    name = "standard.probed_elementwise"

    def matches(self, module):
        return probed_function(module) is not None

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args, rank=None)
        op = probed_function(module)
        if op == "identity":
            return x
        return ctx.add_node(op, [x], name_hint=path, module_path=path)


# --------------------------------------------------------------------------------------------
# Linear, flatten, softmax


class LinearConverter(Converter):
    name = "standard.linear"

    def matches(self, module):
        return own_forward(module, nn.Linear)

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args, rank=None)
        if len(x.shape) != 2:
            ctx.fail(path, module, f"input of shape {list(x.shape)}: dyserve's linear takes [N, features] "
                                   "(flatten before it)")
        weights = {"weight": module.weight}
        if module.bias is not None:
            weights["bias"] = module.bias
        return ctx.add_node("linear", [x], attrs={"out_features": module.out_features}, weights=weights,
                            name_hint=path, module_path=path)


def flatten_value(ctx, path, module, x, start_dim: int, end_dim: int, hint: str):
    """flatten(x, start_dim, end_dim) when it means [N, ...] -> [N, prod]; the identity on a rank-2 input."""
    rank = len(x.shape)
    start, end = start_dim % rank, end_dim % rank
    if start != 1 or end != rank - 1:
        ctx.fail(path, module, f"flatten of dimensions {start_dim}..{end_dim} of a rank-{rank} input: "
                               "only [N, ...] -> [N, features] (start_dim 1, end_dim -1) is supported")
    if rank == 2:
        return x
    return ctx.add_node("flatten", [x], name_hint=hint, module_path=path)


class FlattenConverter(Converter):
    name = "standard.flatten"

    def matches(self, module):
        return own_forward(module, nn.Flatten)

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args, rank=None)
        return flatten_value(ctx, path, module, x, module.start_dim, module.end_dim, path)


class SoftmaxConverter(Converter):
    name = "standard.softmax"

    def matches(self, module):
        return own_forward(module, nn.Softmax)

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args, rank=None)
        if module.dim is None:
            ctx.fail(path, module, "Softmax without dim: give the axis explicitly")
        return ctx.add_node("softmax", [x], attrs={"axis": int(module.dim)}, name_hint=path, module_path=path)


# --------------------------------------------------------------------------------------------
# Pools


def adaptive_pool(ctx, path, module, x, output_size, kind: str, hint: str):
    """An adaptive pool as global_avg_pool (avg to 1x1) or a fixed pool whose windows tile the input exactly."""
    h, w = x.shape[2], x.shape[3]
    oh, ow = pair(tuple(h if s is None else s for s in (output_size if isinstance(output_size, (tuple, list))
                                                         else (output_size, output_size))))
    if kind == "avg" and (oh, ow) == (1, 1):
        return ctx.add_node("global_avg_pool", [x], name_hint=hint, module_path=path)
    if (oh, ow) == (h, w):
        return x
    if h % oh or w % ow:
        ctx.fail(path, module, f"adaptive {kind} pool from {h}x{w} to {oh}x{ow}: the windows overlap unevenly; "
                               "only output 1x1 or sizes dividing the input are supported")
    kernel = (h // oh, w // ow)
    attrs = window_attrs(kernel, kernel, (0, 0, 0, 0))
    return ctx.add_node(f"{kind}_pool2d", [x], attrs=attrs, name_hint=hint, module_path=path)


class AdaptivePoolConverter(Converter):
    name = "standard.adaptive_pool"

    def matches(self, module):
        return own_forward(module, nn.AdaptiveAvgPool2d) or own_forward(module, nn.AdaptiveMaxPool2d)

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args)
        if getattr(module, "return_indices", False):
            ctx.fail(path, module, "return_indices=True is not supported")
        kind = "avg" if isinstance(module, nn.AdaptiveAvgPool2d) else "max"
        return adaptive_pool(ctx, path, module, x, module.output_size, kind, path)


TF_SAME_POOLS = {"MaxPool2dSame", "AvgPool2dSame"}


def fixed_pool(ctx, path, module, x, kind: str, kernel, stride, padding, dilation=1, ceil_mode=False,
               count_include_pad=True, divisor_override=None, tf_same=False, hint=None):
    kernel = pair(kernel)
    stride = pair(stride) if stride not in (None, (), []) else kernel
    if pair(dilation) != (1, 1):
        ctx.fail(path, module, f"pool dilation {list(pair(dilation))} is not supported")
    if divisor_override:
        ctx.fail(path, module, f"divisor_override={divisor_override} is not supported")
    h, w = x.shape[2], x.shape[3]
    if tf_same:
        (top, bottom), (left, right) = (tf_same_padding(h, kernel[0], stride[0], 1),
                                        tf_same_padding(w, kernel[1], stride[1], 1))
        count_include_pad = True  # timm pads the input with zeros (avg) before pooling
    else:
        top, left = pair(padding)
        bottom, right = top, left
    if ceil_mode:
        floor = (pooled_size(h, kernel[0], stride[0], top, bottom), pooled_size(w, kernel[1], stride[1], left, right))
        ceil = (pooled_size(h, kernel[0], stride[0], top, bottom, ceil_mode=True),
                pooled_size(w, kernel[1], stride[1], left, right, ceil_mode=True))
        if floor != ceil:
            ctx.fail(path, module, f"ceil_mode=True gives {list(ceil)} outputs from {h}x{w} where the format's "
                                   f"pools give {list(floor)}: not supported (set ceil_mode=False or change the input size)")
    if max(top, bottom) >= kernel[0] or max(left, right) >= kernel[1]:
        ctx.fail(path, module, f"padding {[top, left, bottom, right]} not smaller than the kernel {list(kernel)}")
    attrs = window_attrs(kernel, stride, (top, left, bottom, right))
    if kind == "avg":
        attrs["count_include_pad"] = bool(count_include_pad)
    return ctx.add_node(f"{kind}_pool2d", [x], attrs=attrs, name_hint=hint or path, module_path=path)


class PoolConverter(Converter):
    name = "standard.pool"

    def matches(self, module):
        return (own_forward(module, nn.AvgPool2d) or own_forward(module, nn.MaxPool2d)
                or (isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)) and bool(class_names(module) & TF_SAME_POOLS)))

    def convert(self, ctx, module, path, args):
        x = one_input(ctx, path, module, args)
        tf_same = bool(class_names(module) & TF_SAME_POOLS)
        if isinstance(module, nn.MaxPool2d):
            if module.return_indices:
                ctx.fail(path, module, "return_indices=True is not supported")
            return fixed_pool(ctx, path, module, x, "max", module.kernel_size, module.stride, module.padding,
                              module.dilation, module.ceil_mode, tf_same=tf_same)
        return fixed_pool(ctx, path, module, x, "avg", module.kernel_size, module.stride, module.padding,
                          ceil_mode=module.ceil_mode, count_include_pad=module.count_include_pad,
                          divisor_override=module.divisor_override, tf_same=tf_same)


for _converter in (Conv2dConverter(), BatchNormActConverter(), BatchNorm2dConverter(), ActivationConverter(),
                   IdentityConverter(), LinearConverter(), FlattenConverter(), SoftmaxConverter(),
                   AdaptivePoolConverter(), PoolConverter(), ProbedElementwiseConverter()):
    register_builtin(_converter)
