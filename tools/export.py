"""Write a reference Graph (tools/dyserve-export/dyserve_export/reference) as a dyserve model directory.

The format is docs/model-format.md. Weights are written as F32 under PyTorch-style names
(`<node>.<state_dict key>`, e.g. `conv1.attention.fc1.weight`), which node `weights` maps from roles.
Reading a directory back (`load`) and the trace JSON (`trace_json`) live in the reference package and
are re-exported here.

Usage (check that a model directory loads and reproduces a stored output):
    python tools/export.py MODEL_DIR [INPUT.npy [EXPECTED.npy]]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))

from dyserve_export.json_format import to_json  # noqa: E402
from dyserve_export.reference import (FORMAT_VERSION, MODEL_FILE, WEIGHTS_FILE, BatchNorm, Conv2d,  # noqa: E402
                                      DynamicConv2d, Graph, load, trace_json)

__all__ = ["save", "load", "folded", "trace_json", "FORMAT_VERSION", "MODEL_FILE", "WEIGHTS_FILE"]


def node_entry(name: str, graph: Graph) -> tuple[dict, dict[str, torch.Tensor]]:
    """The model.json entry of one node and the tensors it names."""
    node = graph.nodes[name]
    state = node.state_dict()
    roles, tensors = {}, {}
    for role, key in node.weight_roles().items():
        tensor_name = f"{name}.{key}"
        roles[role] = tensor_name
        tensors[tensor_name] = state[key].detach().to(torch.float32).contiguous().clone()
    entry = {"name": name, "op": node.op, "inputs": graph.node_inputs[name],
             "attrs": node.attrs(), "weights": roles}
    return entry, tensors


def model_json(graph: Graph) -> dict:
    info = graph.info
    doc = {
        "format_version": FORMAT_VERSION,
        "name": info.name,
        "version": info.version,
        "description": info.description,
        "inputs": [{"name": s.name, "datatype": "FP32", "shape": list(s.shape)} for s in info.inputs],
        "outputs": [{"name": s.name, "datatype": "FP32", "shape": list(s.shape), "node": s.node or s.name}
                    for s in info.outputs],
    }
    if info.labels is not None:
        doc["labels"] = list(info.labels)
    doc["temperature"] = float(info.temperature)
    doc["weights"] = {"file": WEIGHTS_FILE}
    doc["nodes"] = []
    return doc


def save(graph: Graph, directory, fold_batch_norm: bool = False) -> Path:
    """Write `graph` to `directory`. With fold_batch_norm, conv + BN pairs the format allows to fold
    are folded here instead of by the loader (the result is the same function)."""
    if fold_batch_norm:
        graph = folded(graph)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    doc = model_json(graph)
    all_tensors: dict[str, torch.Tensor] = {}
    for name in graph.names:
        entry, tensors = node_entry(name, graph)
        doc["nodes"].append(entry)
        all_tensors.update(tensors)
    (directory / MODEL_FILE).write_text(to_json(doc) + "\n")
    save_file(all_tensors, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    return directory


def foldable(graph: Graph, bn_name: str) -> Optional[str]:
    """The conv a batch norm folds into, per the format's rule, or None."""
    node = graph.nodes[bn_name]
    if not isinstance(node, BatchNorm):
        return None
    (source,) = graph.node_inputs[bn_name]
    if source not in graph.nodes:
        return None
    conv = graph.nodes[source]
    # Never after an externally routed dynamic conv: its routing weights need not sum to 1.
    ok = isinstance(conv, Conv2d) or (isinstance(conv, DynamicConv2d) and conv.routing == "softmax"
                                      and not conv.external_routing)
    if ok and graph.consumers(source) == [bn_name]:
        return source
    return None


def folded(graph: Graph) -> Graph:
    """A copy of graph with every foldable BN merged into its conv; consumers of the BN read the conv."""
    import copy
    out = Graph(copy.deepcopy(graph.info))
    renamed: dict[str, str] = {}
    folds = {foldable(graph, n): n for n in graph.names if foldable(graph, n)}
    for name in graph.names:
        if name in renamed:
            continue
        node = copy.deepcopy(graph.nodes[name])
        if name in folds:
            bn = graph.nodes[folds[name]]
            with torch.no_grad():
                scale = (bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps))
                shift = bn.bias.double() - bn.running_mean.double() * scale
                if isinstance(node, DynamicConv2d):
                    w = node.weight.double() * scale.reshape(1, -1, 1, 1, 1)
                    b = node.bias.double() if node.bias is not None else torch.zeros(node.weight.shape[:2], dtype=torch.float64)
                    b = b * scale.reshape(1, -1) + shift.reshape(1, -1)
                else:
                    w = node.weight.double() * scale.reshape(-1, 1, 1, 1)
                    b = node.bias.double() if node.bias is not None else torch.zeros(node.weight.shape[0], dtype=torch.float64)
                    b = b * scale + shift
                node.weight = torch.nn.Parameter(w.float())
                node.bias = torch.nn.Parameter(b.float())
            renamed[folds[name]] = name
        inputs = [renamed.get(s, s) for s in graph.node_inputs[name]]
        out.add(name, node, *inputs)
    for spec in out.info.outputs:
        target = spec.node or spec.name
        spec.node = renamed.get(target, target)
    out.eval()
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    graph = load(argv[0])
    print(f"{graph.info.name}: {len(graph.names)} nodes, tau {graph.info.temperature}")
    for name in graph.names:
        print(f"  {name:<16} {graph.nodes[name].op:<16} <- {graph.node_inputs[name]}")
    if len(argv) > 1:
        x = torch.from_numpy(np.load(argv[1]))
        with torch.no_grad():
            y = graph.double()(x.double())
        print("output shape", tuple(y.shape))
        if len(argv) > 2:
            expected = torch.from_numpy(np.load(argv[2])).double()
            print("max abs error", float((y - expected).abs().max()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
