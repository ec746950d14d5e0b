"""Dynamic convolutions with their own attention: the papers' form and kaijieshi7's layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from dy_helpers import export_checked, image, nodes_of, randomize
from dyserve_export import ConversionError, export
from dyserve_export.reference import DynamicConv2d
from public_modules.kaijieshi import Dynamic_conv2d


def papers_network() -> nn.Module:
    return nn.Sequential(
        DynamicConv2d(3, 8, 3, padding=1, experts=4),
        nn.BatchNorm2d(8), nn.ReLU(),
        DynamicConv2d(8, 16, 3, stride=2, padding=1, groups=8, experts=3, routing="sigmoid"),
        nn.ReLU(),
        DynamicConv2d(16, 16, 1, experts=4, bias=False),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))


def test_papers_dynamic_conv_network_converts_and_matches(tmp_path):
    model = randomize(papers_network(), seed=1)
    doc, _, _ = export_checked(model, image(2, 3, 16), tmp_path)
    convs = nodes_of(doc, "dynamic_conv2d")
    assert [c["attrs"]["routing"] for c in convs] == ["softmax", "sigmoid", "softmax"]
    assert [c["attrs"]["experts"] for c in convs] == [4, 3, 4]
    assert convs[1]["attrs"]["groups"] == 8 and convs[1]["attrs"]["stride"] == 2
    assert "bias" not in convs[2]["weights"]


def test_papers_dynamic_conv_with_a_temperature_its_forward_ignores_is_refused(tmp_path):
    model = randomize(nn.Sequential(DynamicConv2d(3, 4, 3, experts=2, temperature=30.0)), seed=2)
    with pytest.raises(ConversionError) as error:
        export(model, image(1, 3, 8), tmp_path / "out")
    message = str(error.value)
    assert "0 (DynamicConv2d)" in message and "temperature" in message
    assert not (tmp_path / "out" / "model.json").exists()


def kaijieshi_network(temperature: int = 34) -> nn.Module:
    return nn.Sequential(
        Dynamic_conv2d(3, 16, 3, padding=1, K=4, temperature=temperature),  # RGB input: hidden = K
        nn.BatchNorm2d(16), nn.ReLU(),
        Dynamic_conv2d(16, 16, 3, stride=2, padding=1, groups=16, K=4, temperature=temperature),  # depthwise
        nn.BatchNorm2d(16), nn.ReLU(),
        Dynamic_conv2d(16, 24, 1, ratio=0.25, bias=False, K=3, temperature=temperature),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))


def anneal(model: nn.Module, steps: int) -> None:
    """kaijieshi7's schedule: every call lowers each attention's temperature by 3, down to 1."""
    for _ in range(steps):
        for m in model.modules():
            if isinstance(m, Dynamic_conv2d):
                m.update_temperature()


@pytest.mark.parametrize("anneal_steps, temperature", [(0, 34), (5, 19), (11, 1), (20, 1)])
def test_kaijieshi_network_converts_at_every_temperature(tmp_path, anneal_steps, temperature):
    model = randomize(kaijieshi_network(), seed=3)
    anneal(model, anneal_steps)
    x = image(2, 3, 16)
    doc, _, graph = export_checked(model, x, tmp_path)
    convs = nodes_of(doc, "dynamic_conv2d")
    assert [c["attrs"]["temperature"] for c in convs] == [float(temperature)] * 3
    assert [c["attrs"].get("groups", 1) for c in convs] == [1, 16, 1]
    # The repository's hidden-size rule, read from the weights: K for RGB, int(in * ratio) + 1 otherwise.
    hidden = [graph.nodes[c["name"]].attention.fc1.weight.shape[0] for c in convs]
    assert hidden == [4, 5, 5]
    # The attention pi dyserve reports is the repository's softmax(z / temperature).
    with torch.no_grad():
        _, trace = graph.run(x, trace=True)
        first = model[0].attention(x)
    assert torch.allclose(trace[0]["attention"]["pi"], first, atol=1e-4, rtol=0)


def test_kaijieshi_attention_with_an_extra_layer_is_refused(tmp_path):
    model = randomize(kaijieshi_network(), seed=4)
    model[3].attention.bn = nn.BatchNorm2d(5)  # the repository once had one between fc1 and fc2
    with pytest.raises(ConversionError) as error:
        export(model, image(1, 3, 16), tmp_path / "out")
    message = str(error.value)
    assert "3 (Dynamic_conv2d)" in message and "bn" in message
