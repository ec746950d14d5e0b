"""timm's CondConv: CondConv2d leaves routed by their block's routing_fn, folded into expert_routing."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn

from dy_helpers import export_checked, image, nodes_of, randomize

timm = pytest.importorskip("timm", reason="timm is a test dependency of dyserve-export")


def check_routing_shared_per_block(doc: dict, blocks: list[str]) -> None:
    """One expert_routing per CondConv block, feeding exactly that block's three dynamic convolutions."""
    routings = nodes_of(doc, "expert_routing")
    assert [r["name"] for r in routings] == [f"{b}.routing" for b in blocks]
    for routing in routings:
        assert routing["attrs"] == {"experts": routing["attrs"]["experts"], "routing": "sigmoid"}
        users = [n for n in doc["nodes"] if routing["name"] in n["inputs"]]
        assert [u["op"] for u in users] == ["dynamic_conv2d"] * 3
        assert all(u["inputs"][1] == routing["name"] for u in users)
    # The chain timm computes the routing with (pool, flatten, linear, sigmoid) is not written.
    assert not any("routing_fn" in n["name"] for n in doc["nodes"])


def test_condconv_block_with_tf_same_padding(tmp_path):
    from timm.models._efficientnet_blocks import CondConvResidual

    model = randomize(nn.Sequential(
        CondConvResidual(16, 16, dw_kernel_size=3, stride=1, pad_type="same", exp_ratio=2.0, num_experts=3,
                         act_layer=nn.ReLU),
        CondConvResidual(16, 24, dw_kernel_size=5, stride=2, pad_type="same", exp_ratio=2.0, num_experts=3,
                         act_layer=nn.SiLU)), seed=20)
    assert model[1].conv_dw.dynamic_padding
    doc, _, _ = export_checked(model, image(2, 16, 10), tmp_path)
    check_routing_shared_per_block(doc, ["0", "1"])
    strided = next(n for n in nodes_of(doc, "dynamic_conv2d") if n["attrs"]["stride"] == 2)
    assert strided["attrs"]["padding"] == [1, 1, 2, 2]  # TF SAME on 10x10, kernel 5, stride 2: 3 rows, extra at the bottom


def test_timm_efficientnet_cc_b0_4e(tmp_path):
    torch.manual_seed(0)
    model = timm.create_model("efficientnet_cc_b0_4e", pretrained=False).eval()
    parameters = sum(p.numel() for p in model.parameters())
    assert round(parameters / 1e6, 1) == 13.3
    with torch.no_grad():  # non-trivial batch-norm statistics
        gen = torch.Generator().manual_seed(1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
    x = image(2, 3, 224)
    doc, _, graph = export_checked(model, x, tmp_path)
    blocks = [name for name, m in model.named_modules() if type(m).__name__ == "CondConvResidual"]
    assert len(blocks) == 8
    check_routing_shared_per_block(doc, blocks)
    # The routing dyserve reports once per block is timm's sigmoid(routing_fn(pooled)), within 1e-4.
    routed = {}
    hooks = [model.get_submodule(b).routing_fn.register_forward_hook(
        lambda _m, _i, out, b=b: routed.__setitem__(b, torch.sigmoid(out))) for b in blocks]
    with torch.no_grad():
        model(x)
        _, trace = graph.run(x, trace=True)
    for hook in hooks:
        hook.remove()
    reported = {t["name"]: t["attention"]["pi"] for t in trace if t["op"] == "expert_routing"}
    assert sorted(reported) == sorted(f"{b}.routing" for b in blocks)
    for b in blocks:
        assert torch.allclose(reported[f"{b}.routing"], routed[b], atol=1e-4, rtol=0)
    convs = [n for n in nodes_of(doc, "dynamic_conv2d") if len(n["inputs"]) == 2]
    assert len(convs) == 24 and all(c["attrs"]["experts"] == 4 for c in convs)
    # Every parameter is written once (plus the batch norms' running statistics).
    header = json.loads((tmp_path / "weights.safetensors").read_bytes()[8:8 + int.from_bytes(
        (tmp_path / "weights.safetensors").read_bytes()[:8], "little")])
    floats = sum(int(torch.tensor(v["shape"]).prod()) for k, v in header.items() if k != "__metadata__")
    statistics = sum(2 * m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert floats == parameters + statistics


class SoftmaxRoutedBlock(nn.Module):
    """timm's CondConv2d routed by a softmax over its experts instead of timm's sigmoid chain."""

    def __init__(self):
        super().__init__()
        from timm.layers import CondConv2d

        self.routing_fn = nn.Linear(8, 3)
        self.conv1 = CondConv2d(8, 12, 3, padding=1, num_experts=3, bias=True)
        self.conv2 = CondConv2d(12, 8, 1, num_experts=3)

    def forward(self, x):
        routing = torch.softmax(self.routing_fn(x.mean((2, 3))), dim=1)
        return self.conv2(torch.relu(self.conv1(x, routing)), routing)


def test_condconv_routed_another_way_keeps_that_routing(tmp_path):
    doc, _, _ = export_checked(randomize(SoftmaxRoutedBlock(), seed=21), image(2, 8, 6), tmp_path)
    assert not nodes_of(doc, "expert_routing")
    softmax = nodes_of(doc, "softmax")
    assert len(softmax) == 1
    convs = nodes_of(doc, "dynamic_conv2d")
    assert [c["inputs"][1] for c in convs] == [softmax[0]["name"]] * 2
