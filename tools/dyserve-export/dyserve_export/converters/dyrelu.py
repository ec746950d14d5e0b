"""Converters for Dynamic ReLU (Chen et al., ECCV 2020) as three code bases write it.

All become one `dy_relu` node; what differs is where the coefficients sit in the hyper network's
output (`layout`), how they are squashed (`squash`) and how the residuals are scaled and offset:

- the papers' form, this project's `DyReLU`: attributes map one to one.
- Islanna/DynamicReLU `DyReLUA` / `DyReLUB`: theta = 2 sigmoid(z) - 1, coefficients
  theta * lambdas + init_v viewed as [N, 2k] (A: layout `paper` with C = 1) or [N, C, 2k] (B: layout
  `per_channel`). lambda_a / lambda_b are the two halves of `lambdas` and must each be uniform;
  alpha / beta are the two halves of `init_v`.
- microsoft/DynamicHead `DYReLU`: y = h_sigmoid(z) in [0, 1], blocks a1|b1|a2|b2 of C channels
  (layout `pairs`), a_i = (y - 0.5) * lambda_a + init_a[i] with lambda_a stored doubled, so with
  theta = 2 y - 1 (squash `hard_sigmoid`) a_i = init_a[i] + (stored lambda_a / 2) theta and
  b_i = init_b[i] + 0.5 theta. `K2=False` is one piece, `use_bias=False` drops the intercepts
  (then they are 0: init_b is not used by its forward). Its spatial branch (1x1 conv + BatchNorm2d(1),
  softmax over H*W times H*W, clamped to [0, 3], / 3) is variant C with spatial_tau 1 and the default
  gamma H*W/3, the batch norm folded into the 1x1 conv.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..registry import Converter, register_builtin
from .dynamic_conv import single_input
from .fc_layers import fc_tensors, mlp_weights


def _floats(values) -> list[float]:
    if isinstance(values, torch.Tensor):
        return [float(v) for v in values.detach().reshape(-1).tolist()]
    return [float(v) for v in values]


def _check_hyper_outputs(ctx, path, module, weights: dict, expected: int, what: str) -> None:
    outputs = weights["fc2_weight"].shape[0]
    if outputs != expected:
        ctx.fail(path, module, f"its hyper network gives {outputs} outputs, {what} needs {expected}")


class PaperDyReLUConverter(Converter):
    """The papers' DY-ReLU: `variant`, `pieces`, `lambda_a`, `lambda_b`, `alpha`, `beta`, `layout`, `squash_kind`."""

    name = "dyrelu.paper"

    def matches(self, module: nn.Module) -> bool:
        hyper = getattr(module, "hyper", None)
        return (all(hasattr(module, a) for a in ("variant", "pieces", "lambda_a", "lambda_b", "alpha", "beta",
                                                  "layout", "squash_kind"))
                and isinstance(getattr(hyper, "fc1", None), nn.Linear)
                and isinstance(getattr(hyper, "fc2", None), nn.Linear))

    def convert(self, ctx, module, path, args):
        x = single_input(ctx, path, module, args)
        channels = int(x.shape[1])
        variant, pieces = module.variant, int(module.pieces)
        if variant not in ("A", "B", "C"):
            ctx.fail(path, module, f"variant {variant!r} (supported: A, B, C)")
        intercepts = bool(getattr(module, "intercepts", True))
        attrs = {"variant": variant, "pieces": pieces, "lambda_a": float(module.lambda_a),
                 "lambda_b": float(module.lambda_b), "alpha": _floats(module.alpha), "beta": _floats(module.beta),
                 "layout": module.layout, "squash": module.squash_kind}
        if not intercepts:
            attrs["bias"] = False
        weights = mlp_weights(ctx, path, module, module.hyper.fc1, module.hyper.fc2)
        per_piece = (2 if intercepts else 1) * pieces
        _check_hyper_outputs(ctx, path, module, weights, per_piece * (1 if variant == "A" else channels),
                             f"variant {variant} with {pieces} pieces over {channels} channels")
        if variant == "C":
            attrs["spatial_tau"] = float(module.spatial_tau)
            if module.spatial_gamma is not None:
                attrs["spatial_gamma"] = float(module.spatial_gamma)
            weights["spatial_weight"] = module.spatial.weight.detach()
            if module.spatial.bias is not None:
                weights["spatial_bias"] = module.spatial.bias.detach()
        return ctx.add_node("dy_relu", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)


class IslannaDyReLUConverter(Converter):
    """Islanna/DynamicReLU: `lambdas` and `init_v` buffers of length 2k, Linear fc1 / fc2, `k`, `channels`."""

    name = "dyrelu.islanna"

    def matches(self, module: nn.Module) -> bool:
        buffers = dict(module.named_buffers(recurse=False))
        return ("lambdas" in buffers and "init_v" in buffers and isinstance(getattr(module, "fc1", None), nn.Linear)
                and isinstance(getattr(module, "fc2", None), nn.Linear) and hasattr(module, "k"))

    def convert(self, ctx, module, path, args):
        conv_type = getattr(module, "conv_type", "2d")
        if conv_type != "2d":
            ctx.fail(path, module, f"conv_type {conv_type!r}: dyserve's dy_relu runs on NCHW images (conv_type '2d')")
        x = single_input(ctx, path, module, args)
        channels, k = int(x.shape[1]), int(module.k)
        lambdas, init_v = _floats(module.lambdas), _floats(module.init_v)
        if len(lambdas) != 2 * k or len(init_v) != 2 * k:
            ctx.fail(path, module, f"lambdas has {len(lambdas)} and init_v {len(init_v)} values, expected 2k = {2 * k}")
        for half, values in (("slopes (first half)", lambdas[:k]), ("intercepts (second half)", lambdas[k:])):
            if any(v != values[0] for v in values):
                ctx.fail(path, module, f"lambdas {lambdas}: the {half} are not all equal; dyserve scales every "
                                       f"piece's slope residual by one lambda_a and every intercept by one lambda_b")
        weights = mlp_weights(ctx, path, module, module.fc1, module.fc2)
        outputs = weights["fc2_weight"].shape[0]
        if outputs == 2 * k:
            variant, layout = "A", "paper"  # coefs viewed [N, 2k]: a^j at j, b^j at k + j
        elif outputs == 2 * k * channels:
            variant, layout = "B", "per_channel"  # coefs viewed [N, C, 2k]: a^j_c at c*2k + j
        else:
            ctx.fail(path, module, f"fc2 gives {outputs} outputs: neither 2k = {2 * k} (DyReLUA) nor "
                                   f"2k*C = {2 * k * channels} (DyReLUB)")
        attrs = {"variant": variant, "pieces": k, "lambda_a": lambdas[0], "lambda_b": lambdas[k],
                 "alpha": init_v[:k], "beta": init_v[k:], "layout": layout, "squash": "sigmoid"}
        return ctx.add_node("dy_relu", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)


def _hard_sigmoid_scale(module: nn.Module):
    """The output scale of a hard sigmoid layer (DynamicHead's h_sigmoid: relu6(x + 3) * h_max / 6;
    nn.Hardsigmoid: 1), or None when the layer is something else."""
    if isinstance(module, nn.Hardsigmoid):
        return 1.0
    if isinstance(getattr(module, "relu", None), nn.ReLU6) and hasattr(module, "h_max"):
        return float(module.h_max)
    return None


class DynamicHeadDyReLUConverter(Converter):
    """microsoft/DynamicHead DYReLU: `fc` = Linear, ReLU, Linear, h_sigmoid; `exp`, `lambda_a`, `init_a`, `init_b`."""

    name = "dyrelu.dynamichead"

    def matches(self, module: nn.Module) -> bool:
        fc = getattr(module, "fc", None)
        return (isinstance(fc, nn.Sequential) and len(fc) == 4 and isinstance(fc[0], nn.Linear)
                and isinstance(fc[2], nn.Linear)
                and all(hasattr(module, a) for a in ("exp", "lambda_a", "init_a", "init_b", "oup")))

    def convert(self, ctx, module, path, args):
        x = single_input(ctx, path, module, args)
        channels = int(x.shape[1])
        if not isinstance(module.fc[1], nn.ReLU):
            ctx.fail(path, module, f"fc[1] is {type(module.fc[1]).__name__}, expected ReLU")
        scale = _hard_sigmoid_scale(module.fc[3])
        if scale != 1.0:
            ctx.fail(path, module, f"fc[3] is {type(module.fc[3]).__name__}"
                                   + (f" with h_max {scale}" if scale is not None else "")
                                   + ": dyserve's squash is the hard sigmoid relu6(x + 3) / 6 (h_max 1)")
        if int(module.oup) != channels:
            ctx.fail(path, module, f"oup {module.oup} differs from its input's {channels} channels")
        exp, use_bias = int(module.exp), bool(getattr(module, "use_bias", True))
        # Its forward: exp 4 = a1|b1|a2|b2; exp 2 with bias = a1|b1; exp 2 without = a1|a2; exp 1 = a1.
        shapes = {4: (2, True), 2: (1, True) if use_bias else (2, False), 1: (1, False)}
        if exp not in shapes:
            ctx.fail(path, module, f"exp {exp} (supported: 1, 2, 4)")
        pieces, intercepts = shapes[exp]
        init_a, init_b = _floats(module.init_a), _floats(module.init_b)
        if len(init_a) < pieces or (intercepts and len(init_b) < pieces):
            ctx.fail(path, module, f"init_a {init_a} / init_b {init_b} give fewer than {pieces} values")
        weights = mlp_weights(ctx, path, module, module.fc[0], module.fc[2])
        _check_hyper_outputs(ctx, path, module, weights, exp * channels, f"exp {exp} over {channels} channels")
        attrs = {"variant": "B", "pieces": pieces, "lambda_a": float(module.lambda_a) / 2.0, "lambda_b": 0.5,
                 "alpha": init_a[:pieces], "beta": init_b[:pieces] if intercepts else [0.0] * pieces,
                 "layout": "pairs", "squash": "hard_sigmoid"}
        if not intercepts:
            attrs["bias"] = False
        spa = getattr(module, "spa", None)
        if spa is not None:
            attrs["variant"] = "C"
            attrs["spatial_tau"] = 1.0  # softmax of the raw map; gamma defaults to H*W/3: min(HW softmax, 3) / 3
            weights.update(spatial_weights(ctx, path, module, spa, channels))
        return ctx.add_node("dy_relu", [x], attrs=attrs, weights=weights, name_hint=path, module_path=path)


def spatial_weights(ctx, path: str, module: nn.Module, spa: nn.Module, channels: int) -> dict[str, torch.Tensor]:
    """DynamicHead's spatial branch, Sequential(1x1 Conv2d(C, 1), BatchNorm2d(1)), as one 1x1 conv with the
    batch norm (running statistics) folded in."""
    layers = list(spa) if isinstance(spa, nn.Sequential) else [spa]
    if not layers or not isinstance(layers[0], nn.Conv2d) or layers[0].out_channels != 1:
        ctx.fail(path, module, "its spatial branch `spa` does not start with a 1x1 Conv2d(C, 1)")
    weight, bias = fc_tensors(ctx, path, module, layers[0], "spa[0]")
    weight, bias = weight.double(), (bias.double() if bias is not None else torch.zeros(1, dtype=torch.float64))
    for layer in layers[1:]:
        if not isinstance(layer, nn.BatchNorm2d) or layer.running_mean is None:
            ctx.fail(path, module, f"its spatial branch holds a {type(layer).__name__}; only BatchNorm2d with "
                                   f"running statistics folds into the 1x1 conv")
        scale = layer.running_var.double().add(layer.eps).rsqrt()
        if layer.weight is not None:
            scale = scale * layer.weight.detach().double()
        shift = layer.bias.detach().double() if layer.bias is not None else torch.zeros(1, dtype=torch.float64)
        weight = weight * scale.reshape(-1, 1)
        bias = (bias - layer.running_mean.double()) * scale + shift
    return {"spatial_weight": weight.float().reshape(1, channels, 1, 1), "spatial_bias": bias.float().reshape(1)}


register_builtin(PaperDyReLUConverter())
register_builtin(IslannaDyReLUConverter())
register_builtin(DynamicHeadDyReLUConverter())
