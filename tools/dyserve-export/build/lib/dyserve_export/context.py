"""ConversionContext: what a converter sees while it converts one module or function call."""

from __future__ import annotations

from typing import NoReturn, Optional

import torch

from .graph_builder import GraphBuilder, NodeRecord, Value
from .registry import ConversionError, Converter, find_converter


def describe(path: str, module) -> str:
    kind = type(module).__name__ if module is not None else "function"
    return f"{path or '<root>'} ({kind})"


class ConversionContext:
    def __init__(self, builder: GraphBuilder):
        self.builder = builder
        # module path -> name of the converter that handled it, in conversion order (for the report),
        # and the converter itself (verification asks it for PyTorch's attention).
        self.converted: dict[str, str] = {}
        self.converter_objects: dict[str, Converter] = {}

    def add_node(self, op: str, inputs: list[Value], *, attrs: Optional[dict] = None,
                 weights: Optional[dict[str, torch.Tensor]] = None, name_hint: str, module_path: str) -> Value:
        """Write one model.json node: a unique name derived from `name_hint`, its weights as float32
        under "<node>.<role>", its output shape inferred. The LAST node added for a `module_path` is
        that module's output in the layer-by-layer comparison."""
        return self.builder.add_node(op, inputs, attrs=attrs, weights=weights, name_hint=name_hint,
                                     module_path=module_path)

    def fail(self, path: str, module, reason: str) -> NoReturn:
        """Stop the export: a ConversionError naming the module's path, its class and the reason."""
        raise ConversionError(f"{describe(path, module)}: {reason}")

    def value_producer(self, value: Value) -> Optional[NodeRecord]:
        """The node that produced `value` (None for the model input), so that a converter can
        recognise the chain computing an argument and replace it (nodes nothing uses are not written)."""
        return self.builder.producer(value)

    def convert_module(self, module: torch.nn.Module, path: str, args: list[Value]) -> Value:
        """Convert a submodule through the registry (e.g. the activation inside timm's BatchNormAct2d)."""
        converter = find_converter(module)
        if converter is None:
            self.fail(path, module, "no converter matches this module" + structure_summary(module))
        return self.run_converter(converter, module, path, args)

    def run_converter(self, converter: Converter, module: torch.nn.Module, path: str, args: list[Value]) -> Value:
        try:
            out = converter.convert(self, module, path, args)
        except ConversionError:
            raise
        except Exception as error:  # a converter's own failure still names the module
            raise ConversionError(f"{describe(path, module)}: converter {converter.name!r} failed: "
                                  f"{type(error).__name__}: {error}") from error
        if not isinstance(out, Value):
            raise ConversionError(f"{describe(path, module)}: converter {converter.name!r} returned "
                                  f"{type(out).__name__}, not a Value")
        self.converted[path] = converter.name
        self.converter_objects[path] = converter
        return out


def structure_summary(module: torch.nn.Module) -> str:
    """Its parameters and buffers, so the message shows what a converter would have to match."""
    params = [f"{n} {list(p.shape)}" for n, p in module.named_parameters(recurse=False)]
    buffers = [f"{n} {list(b.shape)}" for n, b in module.named_buffers(recurse=False)]
    children = [n for n, _ in module.named_children()]
    parts = []
    if params:
        parts.append("parameters " + ", ".join(params))
    if buffers:
        parts.append("buffers " + ", ".join(buffers))
    if children:
        parts.append("submodules " + ", ".join(children))
    return f" ({'; '.join(parts)})" if parts else ""
