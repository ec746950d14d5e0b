"""dyserve-export: convert a PyTorch nn.Module to a dyserve model directory (model.json +
weights.safetensors), proven against PyTorch before it is kept. See docs/export.md."""

from .export import ExportReport, export
from .graph_builder import Value
from .registry import ConversionError, Converter, register_converter, unregister_converter
from .verify import VerificationError

__all__ = ["export", "ExportReport", "ConversionError", "VerificationError", "Converter", "Value",
           "register_converter", "unregister_converter"]
