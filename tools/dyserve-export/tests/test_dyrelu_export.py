"""DY-ReLU as three code bases write it: the papers' A/B/C, Islanna/DynamicReLU, microsoft/DynamicHead."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn as nn

from dy_helpers import export_checked, image, nodes_of, randomize
from dyserve_export import ConversionError, export
from dyserve_export.reference import DyReLU
from public_modules.dynamichead import DYReLU
from public_modules.islanna import DyReLUA, DyReLUB


def network(act1: nn.Module, act2: nn.Module, channels: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1), nn.BatchNorm2d(channels), act1,
        nn.Conv2d(channels, channels, 3, stride=2, padding=1), act2,
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 4))


@pytest.mark.parametrize("variant", ["A", "B", "C"])
def test_papers_dyrelu_converts_and_matches(tmp_path, variant):
    model = randomize(network(DyReLU(8, variant=variant, reduction=4, layout="paper"),
                              DyReLU(8, variant=variant, pieces=3, layout="per_channel", lambda_a=0.8,
                                     alpha=[1.0, 0.5, 0.0], beta=[0.0, 0.1, -0.1])), seed=10)
    doc, _, _ = export_checked(model, image(2, 3, 12), tmp_path)
    acts = nodes_of(doc, "dy_relu")
    assert [a["attrs"]["variant"] for a in acts] == [variant, variant]
    assert acts[1]["attrs"]["pieces"] == 3 and acts[1]["attrs"]["layout"] == "per_channel"


def test_islanna_a_and_b_convert_and_match(tmp_path):
    model = randomize(network(DyReLUA(8, reduction=4), DyReLUB(8, reduction=2, k=3)), seed=11)
    doc, _, _ = export_checked(model, image(2, 3, 12), tmp_path)
    a, b = nodes_of(doc, "dy_relu")
    assert (a["attrs"]["variant"], a["attrs"]["layout"], a["attrs"]["squash"]) == ("A", "paper", "sigmoid")
    assert (b["attrs"]["variant"], b["attrs"]["layout"], b["attrs"]["pieces"]) == ("B", "per_channel", 3)
    assert (b["attrs"]["lambda_a"], b["attrs"]["lambda_b"]) == (1.0, 0.5)
    assert b["attrs"]["alpha"] == [1.0, 0.0, 0.0] and b["attrs"]["beta"] == [0.0, 0.0, 0.0]


def test_islanna_with_changed_but_uniform_lambdas_and_init_v(tmp_path):
    act = DyReLUB(8, reduction=4)
    act.lambdas.copy_(torch.tensor([0.7, 0.7, 0.3, 0.3]))
    act.init_v.copy_(torch.tensor([1.0, 0.25, 0.05, -0.05]))
    model = randomize(network(act, nn.ReLU()), seed=12)
    doc, _, _ = export_checked(model, image(2, 3, 12), tmp_path)
    (node,) = nodes_of(doc, "dy_relu")
    assert (node["attrs"]["lambda_a"], node["attrs"]["lambda_b"]) == pytest.approx((0.7, 0.3))
    assert node["attrs"]["alpha"] == pytest.approx([1.0, 0.25]) and node["attrs"]["beta"] == pytest.approx([0.05, -0.05])


def test_islanna_with_per_piece_lambdas_is_refused(tmp_path):
    act = DyReLUB(8, reduction=4)
    act.lambdas.copy_(torch.tensor([1.0, 0.5, 0.5, 0.5]))  # a different lambda for the second slope
    model = randomize(network(nn.ReLU(), act), seed=13)
    with pytest.raises(ConversionError) as error:
        export(model, image(1, 3, 12), tmp_path / "out")
    message = str(error.value)
    assert "4 (DyReLUB)" in message and "lambdas" in message and "not all equal" in message
    assert not (tmp_path / "out" / "model.json").exists()


@pytest.mark.parametrize("k2, use_bias, spatial", list(itertools.product([True, False], repeat=3)))
def test_dynamichead_dyrelu_every_variant_converts_and_matches(tmp_path, k2, use_bias, spatial):
    act = DYReLU(16, 16, reduction=4, lambda_a=0.8, K2=k2, use_bias=use_bias, use_spatial=spatial,
                 init_a=[1.0, 0.25], init_b=[0.1, -0.1])
    model = randomize(network(act, DYReLU(16, 16, reduction=8, K2=k2, use_bias=use_bias), channels=16), seed=14)
    doc, _, _ = export_checked(model, image(2, 3, 12), tmp_path)
    first, second = nodes_of(doc, "dy_relu")
    assert first["attrs"]["variant"] == ("C" if spatial else "B")
    assert first["attrs"]["pieces"] == (2 if k2 else 1)
    assert first["attrs"].get("bias", True) == use_bias
    assert (first["attrs"]["layout"], first["attrs"]["squash"]) == ("pairs", "hard_sigmoid")
    assert first["attrs"]["lambda_a"] == pytest.approx(0.8)
    # The squeeze rule (inp // 4 at reduction 4; _make_divisible(inp // 8, 4) = 4 at reduction 8), from the weights.
    assert model[2].fc[0].out_features == 4 and model[4].fc[0].out_features == 4


def test_dynamichead_dyrelu_with_another_hard_sigmoid_scale_is_refused(tmp_path):
    act = DYReLU(8, 8)
    act.fc[3].h_max = 2.0
    model = randomize(network(act, nn.ReLU()), seed=15)
    with pytest.raises(ConversionError) as error:
        export(model, image(1, 3, 12), tmp_path / "out")
    message = str(error.value)
    assert "2 (DYReLU)" in message and "h_max" in message
