"""Generate the Swift engine's conformance fixtures from the PyTorch reference.

Each case is Tests/DyNNTests/Fixtures/<case>/ holding a model directory (model.json +
weights.safetensors) and
  input.npy    float32, the model's single input
  output.npy   float32, the model's single output
  trace.json   the full-level trace: dynamic layers only, in network order
  case.json    {"description", "temperature": null or the per-call override, "tolerance"}
Expected values are computed in float64 from the EXPORTED files (reloaded from disk), so they are
what an exact engine would produce from the same float32 weights and input.

Everything is seeded: running the script twice writes identical files.
Run from the repository root (after tools/train_digits.py, whose dy-digits it uses):
    python tools/make_fixtures.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))  # the reference package

import export  # noqa: E402
from dyserve_export.reference import (Activation, Add, BatchNorm, Conv2d, DynamicConv2d, DyReLU,  # noqa: E402
                                      ExpertRouting, Flatten, GlobalAvgPool, Graph, Linear, ModelInfo, Mul,
                                      Normalize, Pool2d, Softmax, TensorSpec)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/DyNNTests/Fixtures"
TOLERANCE = 1e-4


# --------------------------------------------------------------------------------------------
# Making random weights informative


def sharpen_attention(m: DynamicConv2d, scale: float) -> DynamicConv2d:
    """Scale FC2 so the routing logits spread over several units: pi far from uniform."""
    with torch.no_grad():
        m.attention.fc2.weight.mul_(scale)
        if m.attention.fc2.bias is not None:
            m.attention.fc2.bias.mul_(scale)
    return m


def sharpen_hyper(m: DyReLU, scale: float, spatial_scale: float = 1.0) -> DyReLU:
    """Spread the DY-ReLU coefficients over [-1, 1] (and the spatial logits, for variant C)."""
    with torch.no_grad():
        m.hyper.fc2.weight.mul_(scale)
        if m.hyper.fc2.bias is not None:
            m.hyper.fc2.bias.mul_(scale)
        if m.spatial is not None:
            m.spatial.weight.mul_(spatial_scale)
    return m


def dyn(gen, cin, cout, k, scale=4.0, **kw) -> DynamicConv2d:
    return sharpen_attention(DynamicConv2d(cin, cout, k, gen=gen, **kw), scale)


def dyrelu(gen, c, variant, layout, squash, scale=3.0, spatial_scale=1.0, **kw) -> DyReLU:
    return sharpen_hyper(DyReLU(c, variant, layout=layout, squash_kind=squash, gen=gen, **kw),
                         scale, spatial_scale)


def graph(name: str, shape: list, temperature: float = 1.0) -> Graph:
    """A one-input, one-output fixture model; main() fills in the output shape."""
    return Graph(ModelInfo(name=name, description=f"dyserve conformance fixture {name}",
                           temperature=temperature, inputs=[TensorSpec("input", [-1] + shape)],
                           outputs=[TensorSpec("output", [], None)]))


def set_output(g: Graph, node: str) -> Graph:
    g.info.outputs[0].node = node
    return g.eval()


def inputs(gen: torch.Generator, n: int, shape: list, offset: float = 1.5) -> torch.Tensor:
    """Noise plus a per-(sample, channel) offset, so GAP and hence the attention differ per sample."""
    x = torch.randn(n, *shape, generator=gen)
    return (x + offset * (2 * torch.rand(n, shape[0], 1, 1, generator=gen) - 1)).float()


# --------------------------------------------------------------------------------------------
# Cases. Each returns (graph, input, temperature override or None, description).


def case_conv2d_bn_fold(gen):
    g = graph("conv2d_bn_fold", [3, 6, 6])
    g.add("conv", Conv2d(3, 8, 3, padding=1, gen=gen), "input")
    g.add("bn", BatchNorm(8).randomize(gen), "conv")
    g.add("relu", Activation("relu"), "bn")
    return set_output(g, "relu"), inputs(gen, 1, [3, 6, 6]), None, \
        "batch 1; conv2d followed by a batch_norm the loader folds; relu"


def case_conv2d_geometry(gen):
    g = graph("conv2d_geometry", [4, 7, 9])
    g.add("conv", Conv2d(4, 6, (3, 2), stride=2, padding=[0, 1, 2, 1], dilation=2, gen=gen), "input")
    g.add("relu6", Activation("relu6"), "conv")
    x = inputs(gen, 3, [4, 7, 9]) * 3
    return set_output(g, "relu6"), x, None, \
        "batch 3, 7x9; conv2d 3x2 kernel, stride 2, dilation 2, asymmetric padding [top 0, left 1, bottom 2, right 1]; relu6"


def case_conv2d_groups(gen):
    g = graph("conv2d_groups", [4, 7, 9])
    g.add("grouped", Conv2d(4, 8, 3, padding=1, groups=2, gen=gen), "input")
    g.add("depthwise", Conv2d(8, 8, 3, padding=[1, 2], dilation=[1, 2], groups=8, gen=gen), "grouped")
    g.add("bn", BatchNorm(8).randomize(gen), "depthwise")
    g.add("hswish", Activation("hard_swish"), "bn")
    return set_output(g, "hswish"), inputs(gen, 2, [4, 7, 9]), None, \
        "batch 2; grouped conv2d (groups 2) then depthwise (groups 8, dilation [1,2], padding [1,2]) + folded BN; hard_swish"


def case_dynconv_softmax_bn_fold(gen):
    g = graph("dynconv_softmax_bn_fold", [3, 7, 9])
    g.add("dconv", dyn(gen, 3, 8, 3, padding=1, experts=4), "input")
    g.add("bn", BatchNorm(8).randomize(gen), "dconv")
    g.add("relu", Activation("relu"), "bn")
    return set_output(g, "relu"), inputs(gen, 3, [3, 7, 9]), None, \
        "batch 3, 7x9; softmax dynamic_conv2d (K=4) + batch_norm the loader folds into every expert; relu"


def case_dynconv_model_tau(gen):
    g = graph("dynconv_model_tau", [4, 6, 6], temperature=0.5)
    g.add("dconv1", dyn(gen, 4, 6, 3, padding=1, experts=3), "input")
    g.add("relu", Activation("relu"), "dconv1")
    g.add("dconv2", dyn(gen, 6, 6, 1, experts=5, temperature=3.0), "relu")
    return set_output(g, "dconv2"), inputs(gen, 2, [4, 6, 6]), None, \
        "model temperature 0.5 used by dconv1; dconv2 (1x1, K=5) has its own node temperature 3.0"


def case_dynconv_tau_override(gen):
    g = graph("dynconv_tau_override", [4, 5, 7], temperature=0.7)
    g.add("dconv1", dyn(gen, 4, 6, 3, padding=1, experts=4, scale=8.0), "input")
    g.add("relu", Activation("relu"), "dconv1")
    g.add("dconv2", dyn(gen, 6, 6, 3, padding=1, experts=4, scale=8.0, temperature=2.0), "relu")
    return set_output(g, "dconv2"), inputs(gen, 2, [4, 5, 7]), 5.0, \
        "per-call temperature 5.0 overrides the model's 0.7 and dconv2's node temperature 2.0"


def case_dynconv_sigmoid_bn(gen):
    g = graph("dynconv_sigmoid_bn", [4, 7, 9])
    g.add("dconv", dyn(gen, 4, 8, 3, padding=1, experts=4, routing="sigmoid", scale=3.0), "input")
    g.add("bn", BatchNorm(8).randomize(gen), "dconv")
    g.add("relu", Activation("relu"), "bn")
    return set_output(g, "relu"), inputs(gen, 3, [4, 7, 9]), 9.0, \
        "sigmoid routing (CondConv): the batch_norm after it stays a separate node; the per-call temperature 9.0 must not change sigmoid routing"


def case_dynconv_geometry(gen):
    g = graph("dynconv_geometry", [3, 7, 9])
    g.add("dconv", dyn(gen, 3, 5, (3, 2), stride=2, padding=[0, 1, 2, 1], dilation=2, experts=3), "input")
    return set_output(g, "dconv"), inputs(gen, 3, [3, 7, 9]), None, \
        "batch 3, 7x9; dynamic_conv2d 3x2 kernel, stride 2, dilation 2, asymmetric padding [0,1,2,1], K=3"


def case_dynconv_groups(gen):
    g = graph("dynconv_groups", [4, 7, 9])
    g.add("grouped", dyn(gen, 4, 8, 3, padding=1, groups=2, experts=4), "input")
    g.add("bn", BatchNorm(8).randomize(gen), "grouped")
    g.add("relu", Activation("relu"), "bn")
    g.add("depthwise", dyn(gen, 8, 8, 3, stride=2, padding=1, groups=8, experts=3, reduction=2), "relu")
    return set_output(g, "depthwise"), inputs(gen, 2, [4, 7, 9]), None, \
        "grouped dynamic_conv2d (groups 2) + folded BN, then a depthwise dynamic_conv2d (groups 8, stride 2, reduction 2)"


def case_dynconv_no_bias(gen):
    g = graph("dynconv_no_bias", [3, 6, 5])
    g.add("dconv", dyn(gen, 3, 4, 3, padding=1, experts=2, bias=False, attention_bias=False,
                       min_hidden=6), "input")
    return set_output(g, "dconv"), inputs(gen, 2, [3, 6, 5]), None, \
        "dynamic_conv2d without expert biases or attention biases (optional roles absent); min_hidden 6, K=2"


def dyrelu_chain(gen, variant: str, squash: str, name: str, description: str, gain: float = 1.0, **kw):
    """Three DY-ReLU of one variant and squash, one per layout, separated by 1x1 convolutions
    (scaled by `gain`, so that variant C's spatial attention does not shrink the output to nothing)."""
    c, h, w = 6, 5, 7
    g = graph(name, [c, h, w])
    source = "input"
    for i, layout in enumerate(("paper", "per_channel", "pairs")):
        extra = kw.get(layout, {})
        g.add(f"act_{layout}", dyrelu(gen, c, variant, layout, squash, **extra), source)
        source = f"act_{layout}"
        if i < 2:
            mix = Conv2d(c, c, 1, gen=gen)
            with torch.no_grad():
                mix.weight.mul_(gain)
            source = g.add(f"mix{i + 1}", mix, source)
    return set_output(g, source), inputs(gen, 2, [c, h, w]) * 2, None, description


def case_dyrelu_a_sigmoid(gen):
    return dyrelu_chain(gen, "A", "sigmoid", "dyrelu_a_sigmoid",
                        "DY-ReLU-A, sigmoid squash, layouts paper / per_channel / pairs; pairs with K=3",
                        pairs={"pieces": 3, "alpha": [1.0, 0.5, 0.0], "beta": [0.0, 0.2, -0.2]})


def case_dyrelu_a_hard(gen):
    return dyrelu_chain(gen, "A", "hard_sigmoid", "dyrelu_a_hard",
                        "DY-ReLU-A, hard_sigmoid squash, layouts paper / per_channel / pairs; lambda_a 2, lambda_b 1 on per_channel",
                        per_channel={"lambda_a": 2.0, "lambda_b": 1.0})


def case_dyrelu_b_sigmoid(gen):
    return dyrelu_chain(gen, "B", "sigmoid", "dyrelu_b_sigmoid",
                        "DY-ReLU-B, sigmoid squash, layouts paper / per_channel / pairs; per_channel with K=3",
                        per_channel={"pieces": 3, "alpha": [1.0, 0.0, -0.5], "beta": [0.0, 0.0, 0.1]})


def case_dyrelu_b_hard(gen):
    return dyrelu_chain(gen, "B", "hard_sigmoid", "dyrelu_b_hard",
                        "DY-ReLU-B, hard_sigmoid squash (some coefficients saturate), layouts paper / per_channel / pairs",
                        paper={"scale": 6.0}, pairs={"reduction": 2})


def case_dyrelu_c_sigmoid(gen):
    return dyrelu_chain(gen, "C", "sigmoid", "dyrelu_c_sigmoid",
                        "DY-ReLU-C, sigmoid squash, layouts paper / per_channel / pairs; default gamma HW/3 and tau 10 on paper, "
                        "spatial_tau 2 on per_channel, spatial_gamma 4 on pairs; the min(., 1) clamp is hit on paper", gain=3.0,
                        paper={"spatial_scale": 8.0}, per_channel={"spatial_tau": 2.0},
                        pairs={"spatial_gamma": 4.0, "spatial_scale": 4.0})


def case_dyrelu_c_hard(gen):
    return dyrelu_chain(gen, "C", "hard_sigmoid", "dyrelu_c_hard",
                        "DY-ReLU-C, hard_sigmoid squash, layouts paper / per_channel / pairs; K=3 on paper, no spatial bias on pairs", gain=3.0,
                        paper={"pieces": 3, "spatial_scale": 6.0}, pairs={"spatial_bias": False, "spatial_tau": 3.0})


def case_pools_linear_softmax(gen):
    g = graph("pools_linear_softmax", [3, 7, 9])
    g.add("avg_pad", Pool2d("avg", 3, 1, 1, count_include_pad=True), "input")
    g.add("max_pad", Pool2d("max", 3, 2, [1, 0, 1, 2]), "avg_pad")
    g.add("avg_nopad", Pool2d("avg", (2, 3), 1, [0, 1, 1, 1], count_include_pad=False), "max_pad")
    g.add("flatten", Flatten(), "avg_nopad")
    g.add("fc", Linear(3 * 4 * 5, 5, gen=gen), "flatten")
    g.add("softmax", Softmax(1), "fc")
    x = inputs(gen, 3, [3, 7, 9]) * 3
    return set_output(g, "softmax"), x, None, \
        "avg_pool2d 3x3 pad 1 (count_include_pad), max_pool2d stride 2 asymmetric padding [1,0,1,2], " \
        "avg_pool2d 2x3 padding [0,1,1,1] count_include_pad false, flatten, linear, softmax"


def case_residual_activations(gen):
    g = graph("residual_activations", [4, 6, 6])
    g.add("norm", Normalize([0.5, -0.25, 0.0, 1.0], [2.0, 0.5, 1.0, 1.5]), "input")
    g.add("conv", Conv2d(4, 4, 3, padding=1, gen=gen), "norm")
    # This BN's conv also feeds the residual add, so the BN must not be folded.
    g.add("bn", BatchNorm(4).randomize(gen), "conv")
    g.add("hswish", Activation("hard_swish"), "bn")
    g.add("add", Add(), "hswish", "conv")
    g.add("sigmoid", Activation("sigmoid"), "add")
    g.add("gap", GlobalAvgPool(), "sigmoid")
    x = inputs(gen, 2, [4, 6, 6]) * 2
    return set_output(g, "gap"), x, None, \
        "normalize, conv2d feeding both a batch_norm and a residual add (BN not foldable), hard_swish, add, sigmoid, global_avg_pool"


def case_dy_network(gen):
    g = graph("dy_network", [3, 7, 9])
    g.add("dconv1", dyn(gen, 3, 8, 3, padding=1, experts=4), "input")
    g.add("bn1", BatchNorm(8).randomize(gen), "dconv1")
    g.add("act1", dyrelu(gen, 8, "C", "paper", "sigmoid", spatial_scale=6.0), "bn1")
    g.add("pool", Pool2d("max", 2, 2, [0, 0, 1, 1]), "act1")
    g.add("dconv2", dyn(gen, 8, 8, 3, padding=1, groups=8, experts=4), "pool")
    g.add("bn2", BatchNorm(8).randomize(gen), "dconv2")
    g.add("act2", dyrelu(gen, 8, "A", "per_channel", "hard_sigmoid"), "bn2")
    g.add("dconv3", dyn(gen, 8, 8, 1, experts=3, routing="sigmoid"), "act2")
    g.add("bn3", BatchNorm(8).randomize(gen), "dconv3")
    g.add("add", Add(), "bn3", "pool")
    g.add("act3", dyrelu(gen, 8, "B", "pairs", "sigmoid"), "add")
    g.add("gap", GlobalAvgPool(), "act3")
    g.add("flatten", Flatten(), "gap")
    g.add("fc", Linear(8, 4, gen=gen), "flatten")
    g.add("softmax", Softmax(1), "fc")
    return set_output(g, "softmax"), inputs(gen, 1, [3, 7, 9]) * 2, None, \
        "batch 1; a small DY network: dynamic convs (softmax, depthwise, sigmoid + BN), DY-ReLU C/A/B, max pool, residual add, classifier"


# --------------------------------------------------------------------------------------------
# ext_*: the model-format additions of issue 12 (the exporter's targets: timm CondConv blocks,
# squeeze-and-excitation, DynamicHead's DY-ReLU variants).


def shared_routing_conv(gen, cin, cout, k, experts, **kw) -> DynamicConv2d:
    """A 2-input dynamic_conv2d: its routing weights come from an expert_routing node."""
    return DynamicConv2d(cin, cout, k, experts=experts, gen=gen, external_routing=True, **kw)


def sharpen_routing(m: ExpertRouting, scale: float) -> ExpertRouting:
    with torch.no_grad():
        m.weight.mul_(scale)
    return m


def case_ext_condconv_block(gen):
    """timm's CondConvResidual, small: routing once per block, shared by its three convolutions."""
    c, h, w, k = 6, 7, 9, 4
    g = graph("ext_condconv_block", [c, h, w])
    g.add("routing", sharpen_routing(ExpertRouting(c, k, "sigmoid", gen=gen), 1.5), "input")
    g.add("conv_pw", shared_routing_conv(gen, c, 12, 1, k), "input", "routing")
    g.add("bn1", BatchNorm(12).randomize(gen), "conv_pw")
    g.add("act1", Activation("silu"), "bn1")
    g.add("conv_dw", shared_routing_conv(gen, 12, 12, 3, k, padding=1, groups=12, bias=False), "act1", "routing")
    g.add("bn2", BatchNorm(12).randomize(gen), "conv_dw")
    g.add("act2", Activation("silu"), "bn2")
    g.add("se_pool", GlobalAvgPool(), "act2")
    g.add("se_reduce", Conv2d(12, 4, 1, gen=gen), "se_pool")
    g.add("se_act", Activation("silu"), "se_reduce")
    g.add("se_expand", Conv2d(4, 12, 1, gen=gen), "se_act")
    g.add("se_gate", Activation("sigmoid"), "se_expand")
    g.add("se_mul", Mul(), "act2", "se_gate")
    g.add("conv_pwl", shared_routing_conv(gen, 12, c, 1, k), "se_mul", "routing")
    g.add("bn3", BatchNorm(c).randomize(gen), "conv_pwl")
    g.add("residual", Add(), "bn3", "input")
    return set_output(g, "residual"), inputs(gen, 3, [c, h, w]), None, \
        "batch 3; a CondConv residual block: sigmoid expert_routing (K=4) shared by three 2-input dynamic_conv2d " \
        "(1x1 expand, depthwise 3x3 without bias, 1x1 project), a batch_norm after each (not folded), silu, " \
        "squeeze-and-excitation (gap, 1x1 convs, sigmoid, mul [N,C,H,W] x [N,C,1,1]), residual add"


def case_ext_routing_softmax(gen):
    """expert_routing with softmax on a rank-2 input, node temperature, and a per-call override."""
    c, h, w, k = 5, 6, 6, 3
    g = graph("ext_routing_softmax", [c, h, w], temperature=0.8)
    g.add("pool", GlobalAvgPool(), "input")
    g.add("flat", Flatten(), "pool")
    g.add("routing", sharpen_routing(ExpertRouting(c, k, "softmax", temperature=2.0, gen=gen), 2.0), "flat")
    g.add("conv1", shared_routing_conv(gen, c, 6, 3, k, padding=[1, 0, 1, 2], stride=2), "input", "routing")
    g.add("bn", BatchNorm(6).randomize(gen), "conv1")
    g.add("hsig", Activation("hard_sigmoid"), "bn")
    g.add("routing2", sharpen_routing(ExpertRouting(6, k, "softmax", bias=False, gen=gen), 4.0), "hsig")
    g.add("conv2", shared_routing_conv(gen, 6, 4, 1, k), "hsig", "routing2")
    return set_output(g, "conv2"), inputs(gen, 2, [c, h, w]) * 2, 3.0, \
        "softmax expert_routing on a rank-2 input (gap + flatten) with node temperature 2.0 and on a rank-4 input " \
        "(no bias), each driving a 2-input dynamic_conv2d (asymmetric padding, stride 2); batch_norm after a 2-input " \
        "dynamic conv stays a node; hard_sigmoid; per-call temperature 3.0 overrides both routings"


def dyrelu_layers(gen, name: str, layers: list, description: str, gain: float = 1.5):
    """DY-ReLU layers (variant, layout, squash, options) separated by 1x1 convolutions scaled by `gain`."""
    c, h, w = 6, 5, 7
    g = graph(name, [c, h, w])
    source = "input"
    for i, (variant, layout, squash, options) in enumerate(layers):
        if i:
            mix = Conv2d(c, c, 1, gen=gen)
            with torch.no_grad():
                mix.weight.mul_(gain)
            source = g.add(f"mix{i}", mix, source)
        source = g.add(f"act{i + 1}_{variant}_{layout}", dyrelu(gen, c, variant, layout, squash, **options), source)
    return set_output(g, source), inputs(gen, 2, [c, h, w]) * 2, None, description


def case_ext_dyrelu_no_bias(gen):
    return dyrelu_layers(gen, "ext_dyrelu_no_bias", [
        ("B", "paper", "hard_sigmoid", {"bias": False, "lambda_a": 1.5, "beta": [0.0, 0.3]}),
        ("B", "per_channel", "sigmoid", {"bias": False, "pieces": 3, "alpha": [1.0, 0.5, 0.0], "beta": [0.0, 0.1, -0.2]}),
        ("B", "pairs", "hard_sigmoid", {"bias": False, "beta": [0.1, -0.1]}),
        ("A", "per_channel", "sigmoid", {"bias": False, "pieces": 3, "alpha": [1.0, 0.0, -0.5], "beta": [0.0, 0.2, 0.0]}),
        ("C", "pairs", "hard_sigmoid", {"bias": False, "spatial_tau": 1.0, "spatial_scale": 2.0}),
    ], "DY-ReLU without intercepts (bias false: fc2 outputs only slopes, b = beta_k): B with layouts paper / "
       "per_channel (K=3) / pairs, A per_channel (K=3), C pairs with spatial_tau 1 (DynamicHead's spatial branch)",
       gain=0.7)


def case_ext_dyrelu_one_piece(gen):
    return dyrelu_layers(gen, "ext_dyrelu_one_piece", [
        ("B", "pairs", "hard_sigmoid", {"pieces": 1, "alpha": [1.0], "beta": [0.0]}),
        ("B", "pairs", "hard_sigmoid", {"pieces": 1, "bias": False, "alpha": [1.0], "beta": [0.0]}),
        ("A", "paper", "sigmoid", {"pieces": 1, "scale": 0.5}),
        ("C", "per_channel", "sigmoid", {"pieces": 1, "bias": False, "spatial_scale": 4.0}),
    ], "DY-ReLU with one piece (DynamicHead's K2=False): B pairs with and without intercepts, A paper, "
       "C per_channel without intercepts")


def case_ext_activations_mul(gen):
    c, h, w = 4, 5, 6
    g = graph("ext_activations_mul", [c, h, w])
    g.add("conv", Conv2d(c, c, 3, padding=1, gen=gen), "input")
    g.add("hsig", Activation("hard_sigmoid"), "conv")
    g.add("silu", Activation("silu"), "input")
    g.add("mul_same", Mul(), "silu", "hsig")
    g.add("pool", GlobalAvgPool(), "conv")
    g.add("gate", Activation("hard_sigmoid"), "pool")
    g.add("mul_gate_first", Mul(), "gate", "mul_same")
    g.add("mul_gate_last", Mul(), "mul_gate_first", "gate")
    return set_output(g, "mul_gate_last"), inputs(gen, 2, [c, h, w]) * 3, None, \
        "hard_sigmoid (inputs on both sides of its knees at -3 and 3), silu, mul of equal shapes, " \
        "mul broadcasting a [N,C,1,1] gate over [N,C,H,W] with the gate first and last"


CASES: list[Callable] = [
    case_conv2d_bn_fold, case_conv2d_geometry, case_conv2d_groups, case_dynconv_softmax_bn_fold,
    case_dynconv_model_tau, case_dynconv_tau_override, case_dynconv_sigmoid_bn, case_dynconv_geometry,
    case_dynconv_groups, case_dynconv_no_bias, case_dyrelu_a_sigmoid, case_dyrelu_a_hard,
    case_dyrelu_b_sigmoid, case_dyrelu_b_hard, case_dyrelu_c_sigmoid, case_dyrelu_c_hard,
    case_pools_linear_softmax, case_residual_activations, case_dy_network,
    # Appended, so that the cases above keep their seeds (1000 + index) and their files.
    case_ext_condconv_block, case_ext_routing_softmax, case_ext_dyrelu_no_bias, case_ext_dyrelu_one_piece,
    case_ext_activations_mul,
]


# --------------------------------------------------------------------------------------------
# Writing


def expected(model_dir: Path, x: torch.Tensor, temperature: Optional[float]):
    """Output and trace of the exported model, in float64 from its float32 files."""
    g = export.load(model_dir).double()
    with torch.no_grad():
        outputs, records = g.run(x.double(), temperature=temperature, trace=True)
    return outputs[g.info.outputs[0].name], records


def write_case(directory: Path, x: torch.Tensor, temperature: Optional[float], description: str) -> str:
    y, records = expected(directory, x, temperature)
    np.save(directory / "input.npy", x.numpy().astype(np.float32))
    np.save(directory / "output.npy", y.numpy().astype(np.float32))
    (directory / "trace.json").write_text(json.dumps(export.trace_json(records)) + "\n")
    case = {"description": description, "temperature": temperature, "tolerance": TOLERANCE}
    (directory / "case.json").write_text(json.dumps(case, indent=1) + "\n")
    return summary(y, records)


def summary(y: torch.Tensor, records: list) -> str:
    """What the case exercises numerically, to see at a glance that it is not degenerate."""
    parts = [f"max|y| {float(y.abs().max()):.3g}"]
    for r in records:
        if r["attention"] is not None:
            pi = r["attention"]["pi"]
            parts.append(f"{r['name']} pi max {float(pi.max()):.2f} min {float(pi.min()):.2f}")
        if r["activation"] is not None:
            a = r["activation"]
            text = f"{r['name']} a [{float(a['a'].min()):.2f},{float(a['a'].max()):.2f}]"
            if a["spatial"] is not None:
                s = a["spatial"]
                text += f" spatial [{float(s.min()):.2f},{float(s.max()):.2f}] at1 {int((s >= 1).sum())}"
            parts.append(text)
    return "; ".join(parts)


def check_round_trip(g: Graph, directory: Path, x: torch.Tensor, temperature: Optional[float]) -> None:
    """The reloaded float32 model must reproduce the in-memory one bit for bit."""
    with torch.no_grad():
        want = g.run(x, temperature=temperature)[0]
        got = export.load(directory).run(x, temperature=temperature)[0]
    for name in want:
        if not torch.equal(want[name], got[name]):
            raise RuntimeError(f"{directory.name}: round trip changed output {name}")


def make_digits_case(root: Path) -> None:
    """The shipped dy-digits model on a few held-out samples."""
    source = ROOT / "models/dy-digits"
    heldout = root / "digits-heldout/inputs.npy"
    directory = root / "dy_digits_samples"
    directory.mkdir(parents=True, exist_ok=True)
    for file in ("model.json", "weights.safetensors"):
        shutil.copyfile(source / file, directory / file)
    x = torch.from_numpy(np.load(heldout)[:4].copy())
    info = write_case(directory, x, None,
                      "the shipped models/dy-digits on the first 4 held-out digits (raw 0..16 pixels)")
    print(f"dy_digits_samples: {info}")


def main() -> int:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for index, make in enumerate(CASES):
        gen = torch.Generator().manual_seed(1000 + index)
        g, x, temperature, description = make(gen)
        g = g.float().eval()
        with torch.no_grad():  # the declared output shape is whatever the graph produces
            g.info.outputs[0].shape = [-1] + list(g(x, temperature).shape[1:])
        directory = FIXTURES / g.info.name
        if directory.exists():
            shutil.rmtree(directory)
        export.save(g, directory)
        check_round_trip(g, directory, x, temperature)
        print(f"{g.info.name}: {write_case(directory, x, temperature, description)}")
    make_digits_case(FIXTURES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
