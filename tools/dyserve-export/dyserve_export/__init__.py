"""dyserve-export: convert a PyTorch nn.Module to a dyserve model directory (model.json +
weights.safetensors), proven against PyTorch before it is kept. See docs/export.md."""

from .registry import ConversionError, Converter, register_converter, unregister_converter

__all__ = ["ConversionError", "Converter", "register_converter", "unregister_converter"]
