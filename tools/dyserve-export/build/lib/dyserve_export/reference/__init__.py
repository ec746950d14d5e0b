"""The PyTorch reference interpreter of dyserve's model format (docs/model-format.md).

Modules written from the papers (Dynamic Convolution, Chen et al. CVPR 2020; CondConv routing,
Yang et al. 2019; Dynamic ReLU A/B/C, Chen et al. ECCV 2020) and the plain ops of the format. Every
module is one node of a model graph and knows
  * `op`: the op name in model.json,
  * `attrs()`: its model.json attributes,
  * `weight_roles()`: role -> state_dict key (the tensors a node names in the weights file),
  * `from_spec(attrs, tensors)`: how to rebuild itself from an exported node,
  * `forward(*inputs, tau=None, trace=None)`: the computation. Dynamic layers append a trace record
    (a dict) to `trace` when it is a list; `tau` is the temperature the graph resolved for them.
`Graph` runs named nodes in order; `load(dir)` reads a model directory into one.

The exporter's converters never import this package: it is the independent check of what they write.
Shapes are NCHW.
"""

from .attention import AttentionMLP
from .dy_relu import LAYOUTS, SQUASHES, DyReLU, coefficient_indices, slope_indices, squash
from .dynamic_conv import DynamicConv2d
from .expert_routing import ExpertRouting
from .geometry import (Geometry, as_padding, as_pair, compact_pair, compact_padding, conv2d, entropy_nats,
                       hidden_size, init_uniform)
from .graph import Graph, ModelInfo, TensorSpec
from .model_io import FORMAT_VERSION, MODEL_FILE, WEIGHTS_FILE, load
from .node import Node
from .ops import node_from_spec
from .plain_ops import (Activation, Add, BatchNorm, Conv2d, Flatten, GlobalAvgPool, Linear, Mul, Normalize,
                        Pool2d, Softmax)
from .trace_json import trace_json

__all__ = [
    "AttentionMLP", "LAYOUTS", "SQUASHES", "DyReLU", "coefficient_indices", "slope_indices", "squash",
    "DynamicConv2d", "ExpertRouting", "Geometry", "as_padding", "as_pair", "compact_pair", "compact_padding",
    "conv2d", "entropy_nats", "hidden_size", "init_uniform", "Graph", "ModelInfo", "TensorSpec",
    "FORMAT_VERSION", "MODEL_FILE", "WEIGHTS_FILE", "load", "Node", "node_from_spec", "Activation", "Add",
    "BatchNorm", "Conv2d", "Flatten", "GlobalAvgPool", "Linear", "Mul", "Normalize", "Pool2d", "Softmax",
    "trace_json",
]
