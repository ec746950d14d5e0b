"""Proof of an export before it is kept: the written files, run by interpreters that share no code with
the converters, against the PyTorch module in eval mode on the example input.

1. The reference interpreter (dyserve_export.reference, float64) runs model.json + weights.safetensors.
   Its output must be within `rtol` of PyTorch's (float64 copy of the module), relative to the output's
   scale (its largest magnitude); so must the attention pi of every dynamic layer it traces. On a
   mismatch the first converted module (in PyTorch's execution order) whose output differs is named,
   from forward hooks on the module against the reference's value of the node written for it.
2. When a dyserve release binary is found (DYSERVE_BINARY, else `dyserve` on PATH), `dyserve run
   --backend fast` must reproduce the PyTorch output and the reference's attention within `rtol`.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn

from .context import ConversionContext, describe
from .graph_builder import GraphBuilder
from .reference import conv2d, load

DYSERVE_TIMEOUT_SECONDS = 900


class VerificationError(ValueError):
    """The written model does not compute what the PyTorch module computes (or dyserve cannot run it)."""


@dataclass
class Differences:
    """Measured differences: outputs relative to the PyTorch output's scale, attention pi absolute."""
    reference_output: float = 0.0
    reference_attention: Optional[float] = None
    dyserve_binary: Optional[str] = None
    dyserve_output: Optional[float] = None
    dyserve_attention: Optional[float] = None
    attention_checked: list = field(default_factory=list)  # trace layers compared with PyTorch
    attention_unchecked: list = field(default_factory=list)  # trace layers PyTorch's pi was not available for


def relative(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.double(), want.double()
    if got.shape != want.shape:
        return float("inf")
    scale = max(float(want.abs().max()), 1e-30) if want.numel() else 1.0
    return float((got - want).abs().max()) / scale if want.numel() else 0.0


def absolute(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = torch.as_tensor(got).double(), torch.as_tensor(want).double()
    if got.shape != want.shape:
        return float("inf")
    return float((got - want).abs().max()) if want.numel() else 0.0


def find_dyserve_binary() -> Optional[str]:
    configured = os.environ.get("DYSERVE_BINARY")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise VerificationError(f"DYSERVE_BINARY={configured!r} is not an executable file")
        return configured
    return shutil.which("dyserve")


class PyTorchRun:
    """The module in eval mode (a float64 copy) with forward hooks on every converted module."""

    def __init__(self, model: nn.Module, paths: list[str]):
        try:
            self.model = copy.deepcopy(model).double().eval()
        except Exception as error:
            raise VerificationError(f"cannot make a float64 copy of the module to check the export against: "
                                    f"{type(error).__name__}: {error}") from error
        self.inputs: dict[str, list[torch.Tensor]] = {}
        self.outputs: dict[str, torch.Tensor] = {}
        self.order: list[str] = []
        modules = dict(self.model.named_modules())
        self.handles = []
        for path in paths:
            module = modules[path]
            self.handles.append(module.register_forward_hook(self._hook(path)))

    def _hook(self, path):
        def hook(module, args, output):
            self.inputs[path] = [a.detach() for a in args if isinstance(a, torch.Tensor)]
            if isinstance(output, torch.Tensor):
                self.outputs[path] = output.detach()
            if path not in self.order:
                self.order.append(path)
        return hook

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        try:
            with torch.no_grad():
                return self.model(x.double())
        finally:
            for handle in self.handles:
                handle.remove()


def first_differing_module(run: PyTorchRun, builder: GraphBuilder, ctx: ConversionContext,
                           values: dict, rtol: float) -> Optional[str]:
    modules = dict(run.model.named_modules())
    for path in run.order:
        node = builder.module_outputs.get(path)
        if node is None or node not in values or path not in run.outputs:
            continue
        difference = relative(values[node], run.outputs[path])
        if difference > rtol:
            return (f"{describe(path, modules[path])}, converted by {ctx.converted.get(path)!r} to node {node!r}: "
                    f"relative difference {difference:.3g}")
    return None


def pytorch_attention(record_name: str, builder: GraphBuilder, ctx: ConversionContext, run: PyTorchRun,
                      graph) -> Optional[torch.Tensor]:
    """PyTorch's routing weights for a traced layer: the second argument of the module a 2-input
    dynamic_conv2d was written for (routing computed by another node), the converter's `attention`, or
    else the mixture weights that reproduce the PyTorch module's own output from the written experts."""
    for record in builder.nodes:
        if record.op == "dynamic_conv2d" and len(record.inputs) == 2 and record.inputs[1].name == record_name:
            captured = run.inputs.get(record.module_path, [])
            if len(captured) >= 2:
                return captured[1]
    owner = next((r for r in builder.nodes if r.name == record_name), None)
    if owner is None or owner.module_path not in run.inputs:
        return None
    converter = ctx.converter_objects.get(owner.module_path)
    module = dict(run.model.named_modules()).get(owner.module_path)
    if converter is None or module is None:
        return None
    with torch.no_grad():
        pi = converter.attention(module, run.inputs[owner.module_path])
    if pi is None and owner.op == "dynamic_conv2d" and builder.module_outputs.get(owner.module_path) == owner.name:
        pi = implied_mixture(graph.nodes[owner.name], run.inputs[owner.module_path], run.outputs.get(owner.module_path))
    return pi


def implied_mixture(node, inputs: list, output: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """pi per sample such that sum_k pi_k (conv(x, W_k) + b_k) is PyTorch's output, by least squares.
    The output is linear in pi, so for a module whose output the export reproduces these are the routing
    weights PyTorch used (determined when the experts' responses are linearly independent)."""
    if output is None or len(inputs) != 1:
        return None
    with torch.no_grad():
        return _least_squares_mixture(node, inputs[0].double(), output.double())


def _least_squares_mixture(node, x: torch.Tensor, output: torch.Tensor) -> Optional[torch.Tensor]:
    weight = node.weight.double()
    experts = weight.shape[0]
    responses = []
    for k in range(experts):
        bias = node.bias[k].double() if node.bias is not None else None
        responses.append(conv2d(x, weight[k], bias, node.geom))  # [N, out, H, W]
    basis = torch.stack(responses, dim=-1).reshape(x.shape[0], -1, experts)  # [N, M, K]
    target = output.reshape(x.shape[0], -1, 1)
    if basis.shape[1] < experts:
        return None
    return torch.linalg.lstsq(basis, target).solution[..., 0]


def verify(model: nn.Module, example_input: torch.Tensor, directory: Path, builder: GraphBuilder,
           ctx: ConversionContext, rtol: float) -> Differences:
    diffs = Differences()
    graph = load(directory).double()
    values: dict = {}
    with torch.no_grad():
        outputs, records = graph.run(example_input.double(), trace=True, values_out=values)
    reference_out = outputs[graph.info.outputs[0].name]

    run = PyTorchRun(model, list(ctx.converted))
    want = run(example_input)
    if not isinstance(want, torch.Tensor):
        raise VerificationError(f"the module returns {type(want).__name__}, not a tensor")
    diffs.reference_output = relative(reference_out, want)
    if diffs.reference_output > rtol:
        culprit = first_differing_module(run, builder, ctx, values, rtol)
        where = (f"first module whose output differs: {culprit}" if culprit else
                 "every converted module's own output matches, so the difference comes from a function call "
                 "between modules")
        raise VerificationError(f"the written model's output differs from PyTorch's by {diffs.reference_output:.3g} "
                                f"relative to its scale (allowed {rtol:g}); {where}")

    attention_errors = []
    for record in records:
        if record["attention"] is None:
            continue
        pi = pytorch_attention(record["name"], builder, ctx, run, graph)
        if pi is None:
            diffs.attention_unchecked.append(record["name"])
            continue
        difference = absolute(record["attention"]["pi"], pi)
        diffs.attention_checked.append(record["name"])
        diffs.reference_attention = max(diffs.reference_attention or 0.0, difference)
        if difference > rtol:
            attention_errors.append(f"{record['name']} (module {next_module(builder, record['name'])}): "
                                    f"pi differs by {difference:.3g}")
    if attention_errors:
        raise VerificationError("attention of the written model differs from PyTorch's (allowed "
                                f"{rtol:g}): " + "; ".join(attention_errors))

    binary = find_dyserve_binary()
    if binary:
        diffs.dyserve_binary = binary
        check_with_dyserve(binary, directory, example_input, want, records, diffs, rtol)
    return diffs


def next_module(builder: GraphBuilder, node_name: str) -> str:
    record = next((r for r in builder.nodes if r.name == node_name), None)
    return record.module_path if record is not None and record.module_path else "?"


def check_with_dyserve(binary: str, directory: Path, example_input: torch.Tensor, want: torch.Tensor,
                       records: list, diffs: Differences, rtol: float) -> None:
    with tempfile.TemporaryDirectory(prefix="dyserve-export-run.") as work:
        work = Path(work)
        np.save(work / "x.npy", np.ascontiguousarray(example_input.detach().cpu().numpy().astype(np.float32)))
        command = [binary, "run", "--model", str(directory), "--input", str(work / "x.npy"),
                   "--output", str(work / "y.npy"), "--attention", str(work / "trace.json"), "--backend", "fast"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=DYSERVE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as error:
            raise VerificationError(f"`dyserve run` ({binary}) did not finish in {DYSERVE_TIMEOUT_SECONDS} s") from error
        if done.returncode != 0:
            raise VerificationError(f"`dyserve run` ({binary}) cannot run the written model (exit "
                                    f"{done.returncode}): {(done.stderr or done.stdout).strip()}")
        got = torch.from_numpy(np.load(work / "y.npy"))
        trace = json.loads((work / "trace.json").read_text())
    diffs.dyserve_output = relative(got, want)
    if diffs.dyserve_output > rtol:
        raise VerificationError(f"`dyserve run` output differs from PyTorch's by {diffs.dyserve_output:.3g} "
                                f"relative to its scale (allowed {rtol:g}); the reference interpreter matched "
                                f"({diffs.reference_output:.3g})")
    layers = {layer["name"]: layer for layer in trace.get("layers", [])}
    problems = []
    for record in records:
        if record["attention"] is None:
            continue
        layer = layers.get(record["name"])
        if layer is None or layer.get("attention") is None:
            problems.append(f"{record['name']}: no attention in dyserve's trace")
            continue
        difference = absolute(torch.tensor(layer["attention"]["pi"]), record["attention"]["pi"])
        diffs.dyserve_attention = max(diffs.dyserve_attention or 0.0, difference)
        if difference > rtol:
            problems.append(f"{record['name']}: pi differs by {difference:.3g}")
    if problems:
        raise VerificationError(f"`dyserve run` attention differs from the reference (allowed {rtol:g}): "
                                + "; ".join(problems))
