"""The function table: tensor function and method calls in a traced forward (torch.flatten, F.relu,
x + y, x * gate, x.mean((2, 3), keepdim=True), F.adaptive_avg_pool2d(x, 1), F.dropout(..., training=False),
...), converted with the same ConversionContext as modules.

A handler gets the context and a `Call`; it returns the Value of the call's result. Calls that only
read shapes (x.size(0), x.shape, x.dim()) are not in the table: the tracer evaluates them on the example
input and passes the numbers on.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F

from ..graph_builder import Value
from .standard import adaptive_pool, fixed_pool, flatten_value


@dataclass
class Call:
    """One call_function / call_method node of the traced graph."""
    target: Any  # the function, or the method name
    args: tuple
    kwargs: dict
    module_path: str  # the innermost module whose forward made the call ("" at the top level)
    module: Optional[torch.nn.Module]
    node_name: str  # the traced node's name, unique: used as the name hint
    result_shape: tuple  # the shape PyTorch computes for the result on the example input

    @property
    def label(self) -> str:
        name = self.target if isinstance(self.target, str) else getattr(self.target, "__name__", repr(self.target))
        return f"{'.' if isinstance(self.target, str) else ''}{name}()"

    @property
    def hint(self) -> str:
        return f"{self.module_path}.{self.node_name}" if self.module_path else self.node_name

    def arg(self, index: int, name: str, default=None):
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(name, default)

    def fail(self, ctx, reason: str):
        ctx.fail(self.module_path, self.module, f"{self.label}: {reason}")


def tensor(ctx, call: Call, value) -> Value:
    if not isinstance(value, Value):
        call.fail(ctx, f"expected a tensor computed from the input, got {value!r}")
    return value


def unary(op: str) -> Callable:
    def handler(ctx, call: Call) -> Value:
        x = tensor(ctx, call, call.arg(0, "input"))
        return ctx.add_node(op, [x], name_hint=call.hint, module_path=call.module_path)
    return handler


def hardtanh(ctx, call: Call) -> Value:
    low, high = call.arg(1, "min_val", -1.0), call.arg(2, "max_val", 1.0)
    if (low, high) != (0.0, 6.0):
        call.fail(ctx, f"hardtanh({low}, {high}) is not supported (only 0, 6: relu6)")
    return unary("relu6")(ctx, call)


def binary(op: str) -> Callable:
    def handler(ctx, call: Call) -> Value:
        a, b = call.arg(0, "input"), call.arg(1, "other")
        if call.kwargs.get("alpha", 1) != 1:
            call.fail(ctx, "alpha != 1 is not supported")
        if not isinstance(a, Value) or not isinstance(b, Value):
            call.fail(ctx, f"{op} with a constant ({a!r}, {b!r}): only {op} of two computed tensors is supported")
        if op == "add" and a.shape != b.shape:
            call.fail(ctx, f"add of shapes {list(a.shape)} and {list(b.shape)}: dyserve adds equal shapes only")
        if op == "mul" and a.shape != b.shape and not (gate_of(a, b) or gate_of(b, a)):
            call.fail(ctx, f"mul of shapes {list(a.shape)} and {list(b.shape)}: dyserve multiplies equal shapes, "
                           "or a [N, C, 1, 1] gate by [N, C, H, W]")
        return ctx.add_node(op, [a, b], name_hint=call.hint, module_path=call.module_path)
    return handler


def gate_of(gate: Value, x: Value) -> bool:
    return len(gate.shape) == 4 and len(x.shape) == 4 and gate.shape[:2] == x.shape[:2] and gate.shape[2:] == (1, 1)


def flatten(ctx, call: Call) -> Value:
    x = tensor(ctx, call, call.arg(0, "input"))
    return flatten_value(ctx, call.module_path, call.module, x, call.arg(1, "start_dim", 0),
                         call.arg(2, "end_dim", -1), call.hint)


def reshape(ctx, call: Call) -> Value:
    """view / reshape: the identity when the shape does not change, [N, ...] -> [N, features] as flatten."""
    x = tensor(ctx, call, call.arg(0, "input"))
    if call.result_shape == x.shape:
        return x
    features = 1
    for d in x.shape[1:]:
        features *= d
    if len(x.shape) > 2 and call.result_shape == (x.shape[0], features):
        return ctx.add_node("flatten", [x], name_hint=call.hint, module_path=call.module_path)
    call.fail(ctx, f"reshape of {list(x.shape)} to {list(call.result_shape)}: only [N, ...] -> [N, features] "
                   "is supported")


def identity(ctx, call: Call) -> Value:
    return tensor(ctx, call, call.arg(0, "input"))


def dropout(ctx, call: Call) -> Value:
    if call.arg(2, "training", True):
        call.fail(ctx, "dropout with training=True changes the output randomly; pass training=self.training")
    return identity(ctx, call)


def mean(ctx, call: Call) -> Value:
    """x.mean((2, 3), keepdim=...) over the spatial dimensions: global_avg_pool (then flatten)."""
    x = tensor(ctx, call, call.arg(0, "input"))
    dims = call.arg(1, "dim")
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    if len(x.shape) != 4 or sorted(d % 4 for d in dims) != [2, 3]:
        call.fail(ctx, f"mean over dimensions {list(dims)} of a {list(x.shape)} tensor: only the spatial "
                       "mean (2, 3) of NCHW is supported")
    pooled = ctx.add_node("global_avg_pool", [x], name_hint=call.hint, module_path=call.module_path)
    if call.arg(2, "keepdim", False):
        return pooled
    return ctx.add_node("flatten", [pooled], name_hint=call.hint, module_path=call.module_path)


def adaptive_avg(ctx, call: Call) -> Value:
    x = tensor(ctx, call, call.arg(0, "input"))
    return adaptive_pool(ctx, call.module_path, call.module, x, call.arg(1, "output_size"), "avg", call.hint)


def adaptive_max(ctx, call: Call) -> Value:
    x = tensor(ctx, call, call.arg(0, "input"))
    if call.arg(2, "return_indices", False):
        call.fail(ctx, "return_indices=True is not supported")
    return adaptive_pool(ctx, call.module_path, call.module, x, call.arg(1, "output_size"), "max", call.hint)


def avg_pool(ctx, call: Call) -> Value:
    x = tensor(ctx, call, call.arg(0, "input"))
    return fixed_pool(ctx, call.module_path, call.module, x, "avg", call.arg(1, "kernel_size"),
                      call.arg(2, "stride"), call.arg(3, "padding", 0), ceil_mode=call.arg(4, "ceil_mode", False),
                      count_include_pad=call.arg(5, "count_include_pad", True),
                      divisor_override=call.arg(6, "divisor_override"), hint=call.hint)


def max_pool(ctx, call: Call) -> Value:
    x = tensor(ctx, call, call.arg(0, "input"))
    if call.arg(6, "return_indices", False):
        call.fail(ctx, "return_indices=True is not supported")
    return fixed_pool(ctx, call.module_path, call.module, x, "max", call.arg(1, "kernel_size"),
                      call.arg(2, "stride"), call.arg(3, "padding", 0), call.arg(4, "dilation", 1),
                      call.arg(5, "ceil_mode", False), hint=call.hint)


def softmax(ctx, call: Call) -> Value:
    x = tensor(ctx, call, call.arg(0, "input"))
    axis = call.arg(1, "dim")
    if axis is None:
        call.fail(ctx, "softmax without dim")
    if call.kwargs.get("dtype") is not None:
        call.fail(ctx, "softmax with a dtype is not supported")
    return ctx.add_node("softmax", [x], attrs={"axis": int(axis)}, name_hint=call.hint, module_path=call.module_path)


FUNCTIONS: dict[Any, Callable] = {
    # activations
    F.relu: unary("relu"), torch.relu: unary("relu"), "relu": unary("relu"),
    F.relu6: unary("relu6"), F.hardtanh: hardtanh,
    F.hardswish: unary("hard_swish"), F.hardsigmoid: unary("hard_sigmoid"),
    F.silu: unary("silu"), "silu": unary("silu"),
    torch.sigmoid: unary("sigmoid"), F.sigmoid: unary("sigmoid"), "sigmoid": unary("sigmoid"),
    # arithmetic
    operator.add: binary("add"), operator.iadd: binary("add"), torch.add: binary("add"), "add": binary("add"),
    operator.mul: binary("mul"), operator.imul: binary("mul"), torch.mul: binary("mul"), "mul": binary("mul"),
    # shapes
    torch.flatten: flatten, "flatten": flatten,
    "view": reshape, "reshape": reshape, torch.reshape: reshape,
    "contiguous": identity,
    # pools
    "mean": mean, torch.mean: mean,
    F.adaptive_avg_pool2d: adaptive_avg, F.adaptive_max_pool2d: adaptive_max,
    F.avg_pool2d: avg_pool, F.max_pool2d: max_pool,
    # eval-mode no-ops, softmax
    F.dropout: dropout, F.dropout2d: dropout, F.alpha_dropout: dropout,
    F.softmax: softmax, torch.softmax: softmax, "softmax": softmax,
}


def function_handler(target) -> Optional[Callable]:
    try:
        return FUNCTIONS.get(target)
    except TypeError:  # an unhashable target
        return None
