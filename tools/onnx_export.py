"""Export-friendly PyTorch versions of a dyserve graph, for timing PyTorch eager and ONNX Runtime.

The reference (tools/dyserve-export/dyserve_export/reference) is written to be obviously right (explicit
padding, per-sample kernels through one grouped convolution, traces). This module rewrites a *BN-folded* reference Graph into plain modules that a
peer engine runs the way a practitioner would deploy it:

  * a static convolution is one `Conv` with constant weights (padding inside the Conv when symmetric);
  * a dynamic convolution computes its attention pi = softmax(FC2(ReLU(FC1(GAP(x)))) / tau), then the
    aggregated kernel W = pi @ W_experts (one MatMul over the flattened experts) and bias b = pi @ b_experts,
    and feeds both to a `Conv` as *non-constant* inputs. At batch 1 that is exactly one Conv; larger batches
    use the grouped-convolution trick of the reference.

`check_close` compares such a module with the reference graph; `export` writes an ONNX file at a fixed
batch size with the legacy TorchScript exporter (no onnxscript needed).

Used by tools/bench_peers.py; never imported by tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))  # the reference package

from dyserve_export.reference import Conv2d, DynamicConv2d, Geometry, Graph, Normalize  # noqa: E402


def _conv_padding(geom: Geometry):
    """(explicit pad for F.pad or None, padding argument for F.conv2d)."""
    top, left, bottom, right = geom.padding
    if top == bottom and left == right:
        return None, (top, left)
    return (left, right, top, bottom), (0, 0)


class ExportConv(nn.Module):
    """A static convolution with constant weights."""

    def __init__(self, node: Conv2d):
        super().__init__()
        self.register_buffer("weight", node.weight.detach().clone())
        self.register_buffer("bias", node.bias.detach().clone() if node.bias is not None else None)
        self.pre_pad, self.padding = _conv_padding(node.geom)
        self.stride, self.dilation, self.groups = node.geom.stride, node.geom.dilation, node.geom.groups

    def forward(self, x):
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ExportDynamicConv(nn.Module):
    """Attention, kernel aggregation as one MatMul, and a Conv whose weight is that MatMul's output."""

    def __init__(self, node: DynamicConv2d, tau: float):
        super().__init__()
        k = node.experts
        self.kernel_shape = tuple(node.weight.shape[1:])  # (out, in / groups, kh, kw)
        self.out_channels = node.out_channels
        self.register_buffer("experts", node.weight.detach().reshape(k, -1).clone())
        self.register_buffer("expert_bias", node.bias.detach().clone() if node.bias is not None else None)
        # A 2-input node (CondConv's external routing) has no attention: its pi is the second input.
        self.fc1 = node.attention.fc1 if node.attention is not None else None
        self.fc2 = node.attention.fc2 if node.attention is not None else None
        self.routing, self.tau = node.routing, float(tau)
        self.pre_pad, self.padding = _conv_padding(node.geom)
        self.stride, self.dilation, self.groups = node.geom.stride, node.geom.dilation, node.geom.groups

    def forward(self, x, *routing):
        n, c, h, w = x.shape
        if routing:
            (pi,) = routing
        else:
            logits = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))
            pi = torch.softmax(logits / self.tau, dim=1) if self.routing == "softmax" else torch.sigmoid(logits)
        kernels = pi @ self.experts  # [N, out * in/g * kh * kw]
        biases = pi @ self.expert_bias if self.expert_bias is not None else None  # [N, out]
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad)
        if n == 1:
            return F.conv2d(x, kernels.reshape(self.kernel_shape),
                            biases.reshape(-1) if biases is not None else None,
                            self.stride, self.padding, self.dilation, self.groups)
        y = F.conv2d(x.reshape(1, n * c, x.shape[2], x.shape[3]),
                     kernels.reshape(n * self.out_channels, *self.kernel_shape[1:]),
                     biases.reshape(-1) if biases is not None else None,
                     self.stride, self.padding, self.dilation, self.groups * n)
        return y.reshape(n, self.out_channels, y.shape[2], y.shape[3])


class ExportNormalize(nn.Module):
    """(x - mean) / std with the constants made once."""

    def __init__(self, node: Normalize):
        super().__init__()
        self.register_buffer("mean", torch.tensor(node.mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(node.std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class ReferenceNode(nn.Module):
    """Any other node: the reference module's own forward is already plain tensor code."""

    def __init__(self, node):
        super().__init__()
        self.node = node

    def forward(self, *args):
        return self.node(*args)


class ExportGraph(nn.Module):
    """The graph's nodes in order, returning its first output, or with `extra` the tuple of that output
    and the named intermediate values (e.g. the logits before a final softmax, for a sharper check)."""

    def __init__(self, graph: Graph, extra: tuple = ()):
        super().__init__()
        self.names = list(graph.names)
        self.node_inputs = {name: list(graph.node_inputs[name]) for name in self.names}
        self.input_name = graph.info.inputs[0].name
        first = graph.info.outputs[0]
        self.output_node = first.node or first.name
        self.extra = tuple(extra)
        self.steps = nn.ModuleList()
        for name in self.names:
            node = graph.nodes[name]
            if isinstance(node, DynamicConv2d):
                step = ExportDynamicConv(node, graph.temperature_of(node, None))
            elif isinstance(node, Conv2d):
                step = ExportConv(node)
            elif isinstance(node, Normalize):
                step = ExportNormalize(node)
            else:
                step = ReferenceNode(node)
            self.steps.append(step)
        self.eval()

    def forward(self, x):
        values = {self.input_name: x}
        for name, step in zip(self.names, self.steps):
            values[name] = step(*[values[source] for source in self.node_inputs[name]])
        if self.extra:
            return (values[self.output_node], *[values[name] for name in self.extra])
        return values[self.output_node]


def check_close(module: nn.Module, graph: Graph, x: torch.Tensor, atol: float = 1e-4) -> float:
    """Max abs difference between `module(x)` and the reference graph's first output; raises beyond atol."""
    with torch.inference_mode():
        expected = graph(x)
        got = module(x)
    diff = float((got - expected).abs().max())
    if not diff <= atol:
        raise AssertionError(f"export-friendly graph differs from the reference by {diff} (atol {atol})")
    return diff


def export(module: nn.Module, x: torch.Tensor, path: Path, output_names=("output",), opset: int = 17) -> Path:
    """Write `module` as ONNX at x's (fixed) shape; input "input", outputs named `output_names`."""
    import warnings

    path = Path(path)
    with torch.inference_mode(), warnings.catch_warnings():
        # The tracer warns that `n == 1` is fixed at export time: intended, the graph is for batch 1.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), input_names=["input"], output_names=list(output_names),
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return path


def conv_weight_sources(path: Path) -> dict[str, int]:
    """How many ONNX Conv nodes take their weight from an initializer (constant) or from another node."""
    import onnx

    model = onnx.load(str(path))
    constants = {init.name for init in model.graph.initializer}
    counts = {"constant": 0, "computed": 0}
    for node in model.graph.node:
        if node.op_type == "Conv":
            counts["constant" if node.input[1] in constants else "computed"] += 1
    return counts
