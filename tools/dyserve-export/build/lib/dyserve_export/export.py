"""export(): trace, convert, write into a staging directory, prove, then move into place."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn as nn

from .context import ConversionContext
from .graph_builder import GraphBuilder, Value
from .reference import MODEL_FILE, WEIGHTS_FILE
from .tracing import convert_traced, trace
from .verify import Differences, verify


@dataclass
class ExportReport:
    directory: Path
    nodes: int
    ops: dict  # op -> count
    parameters: int  # float32 values written
    converters: dict  # module path -> converter name
    differences: Differences = field(default_factory=Differences)

    def __str__(self) -> str:
        d = self.differences
        lines = [f"wrote {self.directory}: {self.nodes} nodes, {self.parameters:,} parameters",
                 "ops: " + ", ".join(f"{op} {n}" for op, n in sorted(self.ops.items())),
                 "converters: " + ", ".join(f"{name} {n}" for name, n in
                                            sorted(Counter(self.converters.values()).items())),
                 f"reference interpreter: output differs by {d.reference_output:.3g} (relative)"
                 + (f", attention pi by {d.reference_attention:.3g} ({len(d.attention_checked)} layers)"
                    if d.reference_attention is not None else "")]
        if d.attention_unchecked:
            lines.append("attention not compared with PyTorch (its converter cannot compute pi): "
                         + ", ".join(d.attention_unchecked))
        if d.dyserve_binary:
            lines.append(f"dyserve run ({d.dyserve_binary}): output differs by {d.dyserve_output:.3g}"
                         + (f", attention pi by {d.dyserve_attention:.3g}" if d.dyserve_attention is not None else ""))
        else:
            lines.append("dyserve run: not checked (no DYSERVE_BINARY, no dyserve on PATH)")
        return "\n".join(lines)


def export(model: nn.Module, example_input: torch.Tensor, output_dir, *, name: Optional[str] = None,
           labels: Optional[Sequence[str]] = None, rtol: float = 1e-4) -> ExportReport:
    """Convert `model` (evaluated in eval mode) to a dyserve model directory and prove it on
    `example_input` (an NCHW tensor, batch >= 1) before keeping it.

    Writes model.json + weights.safetensors (float32) into `output_dir` only when the written files,
    run by the reference interpreter (and `dyserve run` when a release binary is found), match PyTorch
    within `rtol` relative to the output's scale, attention included. Otherwise nothing is left behind
    and a ConversionError (cannot convert) or VerificationError (converted, but differs) is raised."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = check_example_input(example_input)
    if not (isinstance(rtol, (int, float)) and rtol > 0 and math.isfinite(rtol)):
        raise ValueError(f"rtol must be a positive number, got {rtol!r}")
    output_dir = Path(output_dir)
    name = name or output_dir.resolve().name
    labels = list(labels) if labels is not None else None
    was_training = model.training
    model.eval()
    try:
        builder = GraphBuilder(Value("input", tuple(x.shape)))
        ctx = ConversionContext(builder)
        with torch.no_grad():
            output = convert_traced(model, trace(model), x, ctx)
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.export-", dir=output_dir.parent))
        try:
            description = (f"{type(model).__name__} ({type(model).__module__}), exported by dyserve-export "
                           f"for input {list(x.shape[1:])}")
            doc, tensors = builder.write(staging, output, name=name, description=description, labels=labels)
            differences = verify(model, x, staging, builder, ctx, rtol)
            output_dir.mkdir(parents=True, exist_ok=True)
            for file in (WEIGHTS_FILE, MODEL_FILE):  # model.json last: a reader never sees new JSON with old weights
                (staging / file).replace(output_dir / file)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        model.train(was_training)
    return ExportReport(directory=output_dir, nodes=len(doc["nodes"]), ops=dict(Counter(n["op"] for n in doc["nodes"])),
                        parameters=sum(t.numel() for t in tensors.values()), converters=dict(ctx.converted),
                        differences=differences)


def check_example_input(example_input) -> torch.Tensor:
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor, got {type(example_input).__name__}")
    if example_input.dim() != 4 or example_input.shape[0] < 1 or min(example_input.shape) < 1:
        raise ValueError(f"example_input must be NCHW with batch >= 1, got shape {list(example_input.shape)}")
    if not example_input.is_floating_point() or not bool(torch.isfinite(example_input).all()):
        raise ValueError("example_input must hold finite floating-point values")
    return example_input.detach().to(torch.float32)
