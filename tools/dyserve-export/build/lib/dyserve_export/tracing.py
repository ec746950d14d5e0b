"""torch.fx tracing with converter-matched modules as leaves, and the walk over the traced graph that
hands every module call to its converter and every function call to the function table.

A module is a leaf (called as a whole, never traced into) when a converter matches it, when it holds
parameters or buffers of its own, or when it is a torch.nn layer: such a module without a converter
stops the export with its path and class. Other modules (blocks, containers, parameter-free helpers)
are traced through. Every traced node is also evaluated on the example input, so calls that only read
shapes become numbers and every converted value's shape is checked against PyTorch's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn

from .context import ConversionContext, describe, structure_summary
from .converters.functions import Call, function_handler
from .graph_builder import Value
from .registry import ConversionError, find_converter
from .converters.standard import has_state

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# Calls that only read a tensor's shape: their result on the example input is used as a constant.
SHAPE_QUERIES = {"size", "dim", "ndimension"}


def is_leaf(module: nn.Module) -> bool:
    if find_converter(module) is not None:
        return True
    if isinstance(module, CONTAINERS):
        return False
    return has_state(module) or type(module).__module__.startswith("torch.nn")


class LeafTracer(fx.Tracer):
    """Leaves are decided before tracing starts: converters may run a module to recognise it (probing),
    which must not happen while fx intercepts module calls."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.leaves = {id(m) for m in model.modules() if m is not model and is_leaf(m)}

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return id(module) in self.leaves


@dataclass(frozen=True)
class TensorResult:
    shape: tuple


class Recorder(fx.Interpreter):
    """Runs the traced graph on the example input, remembering each node's result: tensors by shape
    (shape checks, reshape targets), anything else by value (sizes read in forward)."""

    def __init__(self, module):
        super().__init__(module)
        self.results: dict[str, Any] = {}

    def run_node(self, node):
        result = super().run_node(node)
        self.results[node.name] = TensorResult(tuple(result.shape)) if isinstance(result, torch.Tensor) else result
        return result


def trace(model: nn.Module) -> fx.GraphModule:
    tracer = LeafTracer(model)
    try:
        graph = tracer.trace(model)
    except ConversionError:
        raise
    except Exception as error:
        raise ConversionError(
            f"{describe('', model)}: torch.fx cannot trace its forward ({type(error).__name__}: {error}). "
            "Python control flow that depends on tensor values cannot be traced; register a converter for "
            "the module that contains it, so that it is converted as a whole (docs/export.md)") from error
    return fx.GraphModule(tracer.root, graph)


def innermost_module(root: nn.Module, node: fx.Node) -> tuple[str, nn.Module | None]:
    """The path and (original) module whose forward made the call."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", root
    path = list(stack.values())[-1][0]  # entries are (path, class), outermost first
    try:
        return path, root.get_submodule(path)
    except AttributeError:
        return path, None


def convert_traced(root: nn.Module, gm: fx.GraphModule, example_input: torch.Tensor, ctx: ConversionContext) -> Value:
    """Walk the traced graph of `root` in order; returns the Value of the model's output."""
    recorder = Recorder(gm)
    with torch.no_grad():
        recorder.run(example_input)
    results = recorder.results
    env: dict[str, Any] = {}
    builder = ctx.builder
    placeholders = 0
    output = None
    for node in gm.graph.nodes:
        lookup = lambda n: env[n.name]  # noqa: E731
        args = fx.node.map_arg(node.args, lookup)
        kwargs = fx.node.map_arg(node.kwargs, lookup)
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                raise ConversionError(f"{describe('', root)}: forward takes more than one input ({node.name}); "
                                      "dyserve models take one NCHW tensor")
            env[node.name] = builder.input
            continue
        if node.op == "output":
            output = args[0]
            break
        if node.op == "get_attr":
            path, module = innermost_module(root, node)
            raise ConversionError(f"{describe(path, module)}: its forward reads the tensor {node.target!r} "
                                  "directly (e.g. F.conv2d(x, self.weight)); register a converter for this "
                                  "module (docs/export.md)")
        result = results[node.name]
        if not isinstance(result, TensorResult):
            # Not a tensor: a shape query (x.size(0), x.shape) or arithmetic on such numbers.
            env[node.name] = constant_result(root, node, args, kwargs, result)
            continue
        if node.op == "call_module":
            env[node.name] = convert_module_call(root, node, args, kwargs, ctx)
        else:
            env[node.name] = convert_function_call(root, node, args, kwargs, ctx, result.shape)
        value = env[node.name]
        if not isinstance(value, Value) or value.shape != result.shape:
            path, module = (node.target, root.get_submodule(node.target)) if node.op == "call_module" \
                else innermost_module(root, node)
            got = list(value.shape) if isinstance(value, Value) else repr(value)
            raise ConversionError(f"{describe(path, module)}: converted to a value of shape {got}, "
                                  f"PyTorch computes {list(result.shape)}")
    if not isinstance(output, Value):
        raise ConversionError(f"{describe('', root)}: forward returns {type(output).__name__}; "
                              "dyserve models return one tensor")
    return output


def constant_result(root, node, args, kwargs, result):
    uses_tensor = any(isinstance(a, Value) for a in list(args) + list(kwargs.values()))
    shape_query = (node.op == "call_method" and node.target in SHAPE_QUERIES) or (
        node.op == "call_function" and getattr(node.target, "__name__", "") == "getattr"
        and len(args) > 1 and args[1] in ("shape", "ndim"))
    if uses_tensor and not shape_query:
        path, module = innermost_module(root, node)
        raise ConversionError(f"{describe(path, module)}: {node.target} turns tensor values into a Python "
                              f"number ({result!r}); the exported model could not recompute it")
    return result


def convert_module_call(root, node, args, kwargs, ctx) -> Value:
    path = str(node.target)
    module = root.get_submodule(path)
    tensors = [a for a in args if a is not None]
    if any(not isinstance(a, Value) for a in tensors) or any(v is not None for v in kwargs.values()):
        others = [repr(a) for a in tensors if not isinstance(a, Value)] + [f"{k}={v!r}" for k, v in kwargs.items()]
        ctx.fail(path, module, f"called with non-tensor arguments ({', '.join(others)}), which a converter "
                               "cannot see")
    converter = find_converter(module)
    if converter is None:
        reason = "no converter matches this module" + structure_summary(module)
        if isinstance(module, nn.Conv2d):
            reason += "; a Conv2d subclass with its own forward (e.g. weight standardisation) is not a plain convolution"
        ctx.fail(path, module, reason + ". Register a converter for it (docs/export.md)")
    return ctx.run_converter(converter, module, path, tensors)


def convert_function_call(root, node, args, kwargs, ctx, result) -> Value:
    path, module = innermost_module(root, node)
    call = Call(node.target, tuple(args), dict(kwargs), path, module, node.name, result)
    handler = function_handler(node.target)
    if handler is None:
        call.fail(ctx, f"not supported (a {node.op} in the traced forward); register a converter for the "
                       "module that makes this call (docs/export.md)")
    try:
        return handler(ctx, call)
    except ConversionError:
        raise
    except Exception as error:
        raise ConversionError(f"{describe(path, module)}: {call.label} could not be converted: "
                              f"{type(error).__name__}: {error}") from error
