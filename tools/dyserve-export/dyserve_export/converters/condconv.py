"""timm's CondConv (Yang et al., 2019): `CondConv2d` leaves and their block's shared routing.

timm writes a CondConv block (`CondConvResidual`) as
    routing = sigmoid(routing_fn(flatten(adaptive_avg_pool2d(x, 1))))
    conv_pw(x, routing) ... conv_dw(., routing) ... conv_pwl(., routing)
with each `CondConv2d` holding its experts flattened, `weight` [K, out * in/g * kh * kw], `bias` [K, out].

Each CondConv2d becomes a 2-input `dynamic_conv2d` [x, r]. The routing chain that produced r
(global average pool -> flatten -> linear -> sigmoid, as already converted by the standard converters)
is folded into one `expert_routing` node, once per block however many convolutions share it, so
dyserve computes and traces the routing once. A routing tensor computed any other way is used as it
is (any [N, K] value may route a 2-input dynamic_conv2d).
"""

from __future__ import annotations

import math
import weakref

import torch.nn as nn

from ..registry import Converter, register_builtin
from .dynamic_conv import conv_geometry, own_parameter

# Per export (per ConversionContext): name of a routing value -> the value that replaces it.
_FOLDED_ROUTING: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

# The ops of timm's routing chain, last first: sigmoid(linear(flatten(GAP(x)))).
ROUTING_CHAIN = ("sigmoid", "linear", "flatten", "global_avg_pool")


def _flat_experts(module: nn.Module):
    """(K, weight_shape) when `module` holds CondConv-style flattened experts, else None."""
    weight = own_parameter(module, "weight")
    experts = getattr(module, "num_experts", None)
    needed = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
    if weight is None or weight.dim() != 2 or not isinstance(experts, int):
        return None
    if any(not hasattr(module, name) for name in needed) or weight.shape[0] != experts:
        return None
    kh, kw = (module.kernel_size, module.kernel_size) if isinstance(module.kernel_size, int) else module.kernel_size
    shape = (int(module.out_channels), int(module.in_channels) // int(module.groups), int(kh), int(kw))
    if weight.shape[1] != math.prod(shape):
        return None
    return experts, shape


class CondConvConverter(Converter):
    """timm CondConv2d: flattened experts, routing weights passed in as its second argument."""

    name = "condconv.timm"

    def matches(self, module: nn.Module) -> bool:
        return _flat_experts(module) is not None

    def convert(self, ctx, module, path, args):
        if len(args) != 2:
            ctx.fail(path, module, f"called with {len(args)} tensor arguments; a CondConv2d takes "
                                   f"(x, routing_weights)")
        x, routing = args
        experts, shape = _flat_experts(module)
        if len(x.shape) != 4 or x.shape[1] != module.in_channels:
            ctx.fail(path, module, f"input of shape {list(x.shape)}, expected [N, {module.in_channels}, H, W]")
        if tuple(routing.shape) != (x.shape[0], experts):
            ctx.fail(path, module, f"routing weights of shape {list(routing.shape)}, expected [N, {experts}]")
        attrs = {"out_channels": shape[0]}
        attrs.update(conv_geometry(ctx, path, module, x.shape, shape[2:], module.stride, module.padding,
                                   module.dilation, int(module.groups),
                                   tf_same=bool(getattr(module, "dynamic_padding", False))))
        attrs["experts"] = experts
        weights = {"weight": module.weight.detach().reshape(experts, *shape)}
        if getattr(module, "bias", None) is not None:
            if tuple(module.bias.shape) != (experts, shape[0]):
                ctx.fail(path, module, f"expert bias of shape {list(module.bias.shape)}, expected [{experts}, {shape[0]}]")
            weights["bias"] = module.bias.detach()
        r = shared_routing(ctx, routing, experts, path)
        return ctx.add_node("dynamic_conv2d", [x, r], attrs=attrs, weights=weights, name_hint=path, module_path=path)


def shared_routing(ctx, routing, experts: int, path: str):
    """The value routing this convolution: an `expert_routing` node replacing timm's routing chain
    (made once per routing value, then reused by the block's other convolutions), or `routing` itself."""
    folded = _FOLDED_ROUTING.setdefault(ctx, {})
    if routing.name in folded:
        return folded[routing.name]
    chain = routing_chain(ctx, routing)
    if chain is None:
        folded[routing.name] = routing
        return routing
    sigmoid, linear, flatten, pool = chain
    weights = {"weight": linear.weights["weight"]}
    if "bias" in linear.weights:
        weights["bias"] = linear.weights["bias"]
    node = ctx.add_node("expert_routing", [pool.inputs[0]], attrs={"experts": experts, "routing": "sigmoid"},
                        weights=weights, name_hint=_block_path(linear.module_path) + ".routing",
                        module_path=linear.module_path)
    # The chain's nodes stay in the builder but no longer feed anything: only live nodes are written.
    folded[routing.name] = node
    return node


def routing_chain(ctx, routing):
    """The producers [sigmoid, linear, flatten, global_avg_pool] of `routing`, or None when it was computed
    some other way (or a link of the chain is also used elsewhere)."""
    chain, value = [], routing
    for op in ROUTING_CHAIN:
        node = ctx.value_producer(value)
        if node is None or node.op != op:
            return None
        chain.append(node)
        value = node.inputs[0]
    if len(chain[-1].inputs[0].shape) != 4:
        return None
    return chain


def _block_path(module_path: str) -> str:
    """`blocks.4.0.routing_fn` -> `blocks.4.0`: the routing is named after its block."""
    return module_path.rsplit(".", 1)[0] if "." in module_path else module_path


register_builtin(CondConvConverter())
