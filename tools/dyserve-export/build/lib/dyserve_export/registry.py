"""The converters: what turns one kind of nn.Module into model.json nodes, and the ordered registry.

A converter recognises a module by its structure (parameters, buffers, attributes), not only by its
class name, so a renamed or subclassed module still converts. Converters a user registers are tried
before the built-in ones; the first whose `matches` is true converts the module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Optional

import torch

if TYPE_CHECKING:
    from .context import ConversionContext
    from .graph_builder import Value


class ConversionError(ValueError):
    """A module (or function call) that cannot be converted. The message names the module's path in
    the network, its class and what is not supported."""


class Converter:
    """Converts one kind of nn.Module. Recognise by structure (parameters, buffers, attributes), not
    only by class name. Subclass it, set `name`, implement `matches` and `convert`."""

    name: str = "converter"

    def matches(self, module: torch.nn.Module) -> bool:
        raise NotImplementedError

    def convert(self, ctx: "ConversionContext", module: torch.nn.Module, path: str,
                args: list["Value"]) -> "Value":
        """Add the module's nodes through `ctx.add_node` and return the Value of its output. `args`
        are the Values of the module's tensor arguments in call order."""
        raise NotImplementedError

    def attention(self, module: torch.nn.Module, inputs: list[torch.Tensor]) -> Optional[torch.Tensor]:
        """Optional, for dynamic layers with their own attention: the routing weights pi [N, K] the
        PyTorch module computes for these inputs, so that verification can compare them with the
        trace of the written model. None when the converter cannot tell."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


_user: list[Converter] = []
_builtin: list[Converter] = []
_builtin_loaded = False


def register_converter(converter: Converter, *, first: bool = True) -> None:
    """Add a converter. With `first` (the default) it is tried before every converter registered so
    far, built-in ones included; otherwise after the other user converters, still before the built-ins."""
    if not isinstance(converter, Converter):
        raise TypeError(f"register_converter takes a Converter, got {type(converter).__name__}")
    if first:
        _user.insert(0, converter)
    else:
        _user.append(converter)


def unregister_converter(converter: Converter) -> None:
    """Remove a converter registered with register_converter (tests register temporary ones)."""
    _user.remove(converter)


def register_builtin(converter: Converter) -> Converter:
    """For the package's own converter modules: appended to the built-ins in import order."""
    _builtin.append(converter)
    return converter


def converters() -> list[Converter]:
    """Every converter in the order they are tried."""
    global _builtin_loaded
    if not _builtin_loaded:
        importlib.import_module(f"{__package__}.converters")  # importing registers the built-ins
        _builtin_loaded = True
    return _user + _builtin


def find_converter(module: torch.nn.Module) -> Optional[Converter]:
    for converter in converters():
        if converter.matches(module):
            return converter
    return None
