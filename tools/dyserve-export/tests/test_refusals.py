"""What cannot be converted stops with an error naming it; a wrong conversion is never written."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dyserve_export import ConversionError, Converter, VerificationError, export, register_converter, \
    unregister_converter
from dyserve_export.reference import DynamicConv2d


def image(batch=2, channels=3, size=8):
    return torch.randn(batch, channels, size, size, generator=torch.Generator().manual_seed(5))


def leftovers(directory):
    """Anything the export left in the output's parent (staging directories included)."""
    return sorted(p.name for p in directory.iterdir())


class Body(nn.Module):
    def __init__(self, act: nn.Module):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = act

    def forward(self, x):
        return self.act(self.conv(x))


def test_an_unsupported_torch_layer_is_named_with_its_path_and_class(tmp_path):
    model = nn.Sequential(Body(nn.GELU()), nn.ReLU())
    with pytest.raises(ConversionError) as error:
        export(model, image(), tmp_path / "out")
    assert str(error.value).startswith("0.act (GELU): no converter matches this module")
    assert leftovers(tmp_path) == []


class Scale(nn.Module):
    """A module of the user's own, with a parameter, that no built-in converter knows."""

    def __init__(self, channels):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(channels))

    def forward(self, x):
        return x * self.gain.reshape(1, -1, 1, 1)


def test_a_custom_module_without_a_converter_is_named_with_its_structure(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), Scale(4)))
    with pytest.raises(ConversionError) as error:
        export(model, image(), tmp_path / "out")
    message = str(error.value)
    assert message.startswith("1.1 (Scale): no converter matches this module (parameters gain [4])")
    assert "docs/export.md" in message


def test_an_unsupported_function_call_names_the_module_making_it(tmp_path):
    class Concat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 2, 1)
            self.b = nn.Conv2d(3, 2, 1)

        def forward(self, x):
            return torch.cat([self.a(x), self.b(x)], dim=1)

    model = nn.Sequential()
    model.add_module("block", Concat())
    with pytest.raises(ConversionError, match=r"^block \(Concat\): cat\(\): not supported"):
        export(model, image(), tmp_path / "out")


def test_untraceable_control_flow_is_refused(tmp_path):
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.conv(x) if x.mean() > 0 else x

    with pytest.raises(ConversionError, match=r"torch.fx cannot trace its forward"):
        export(Branchy(), image(), tmp_path / "out")


def test_a_constant_operand_and_a_non_gate_broadcast_are_refused(tmp_path):
    class AddOne(nn.Module):
        def forward(self, x):
            return F.relu(x) + 1.0

    with pytest.raises(ConversionError, match=r"add\(\): add with a constant"):
        export(AddOne(), image(), tmp_path / "out")

    class RowGate(nn.Module):
        def forward(self, x):
            return x * x.mean(3, keepdim=True)

    with pytest.raises(ConversionError, match=r"mean over dimensions \[3\]"):
        export(RowGate(), image(), tmp_path / "out")


class WrongReLU(Converter):
    """A deliberately wrong converter: ReLU written as sigmoid."""

    name = "test.wrong_relu"

    def matches(self, module):
        return type(module) is nn.ReLU

    def convert(self, ctx, module, path, args):
        return ctx.add_node("sigmoid", args, name_hint=path, module_path=path)


def test_a_wrong_conversion_cannot_be_written(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()),
                          nn.Conv2d(4, 2, 1)).eval()
    existing = tmp_path / "out"
    existing.mkdir()
    (existing / "model.json").write_text("{}")  # a model served before: must stay as it was
    converter = WrongReLU()
    register_converter(converter)
    try:
        with pytest.raises(VerificationError) as error:
            export(model, image(), existing)
    finally:
        unregister_converter(converter)
    message = str(error.value)
    assert "first module whose output differs: 2.1 (ReLU), converted by 'test.wrong_relu'" in message
    assert leftovers(tmp_path) == ["out"] and leftovers(existing) == ["model.json"]
    assert (existing / "model.json").read_text() == "{}"
    export(model, image(), existing)  # the built-in converter again: proven and written
    assert sorted(leftovers(existing)) == ["model.json", "weights.safetensors"]


def test_a_converter_that_breaks_its_shape_is_caught_at_once(tmp_path):
    class Shrinking(Converter):
        name = "test.shrinking"

        def matches(self, module):
            return type(module) is nn.ReLU

        def convert(self, ctx, module, path, args):
            return ctx.add_node("global_avg_pool", args, name_hint=path, module_path=path)

    converter = Shrinking()
    register_converter(converter)
    try:
        with pytest.raises(ConversionError, match=r"^1 \(ReLU\): converted to a value of shape \[2, 4, 1, 1\], "
                                                  r"PyTorch computes \[2, 4, 6, 6\]"):
            export(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), image(), tmp_path / "out")
    finally:
        unregister_converter(converter)


def test_bad_arguments(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="NCHW"):
        export(model, torch.zeros(3, 8, 8), tmp_path / "out")
    with pytest.raises(ValueError, match="finite"):
        export(model, torch.full((1, 3, 8, 8), float("nan")), tmp_path / "out")
    with pytest.raises(ValueError, match="labels"):
        export(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), torch.zeros(1, 3, 2, 2), tmp_path / "out",
               labels=["a", "b"])
    assert leftovers(tmp_path) == []


class PapersDynamicConv(Converter):
    """Writes the reference's DynamicConv2d; `fc2_shift` corrupts the attention's last bias on purpose."""

    name = "test.dynamic_conv"

    def __init__(self, fc2_shift: float = 0.0, report_attention: bool = False):
        self.fc2_shift, self.report_attention = fc2_shift, report_attention

    def matches(self, module):
        return isinstance(module, DynamicConv2d)

    def convert(self, ctx, module, path, args):
        a = module.attention
        weights = {"weight": module.weight, "bias": module.bias, "fc1_weight": a.fc1.weight, "fc1_bias": a.fc1.bias,
                   "fc2_weight": a.fc2.weight, "fc2_bias": a.fc2.bias + self.fc2_shift * torch.arange(module.experts)}
        return ctx.add_node("dynamic_conv2d", args, attrs=module.attrs(), weights=weights, name_hint=path,
                            module_path=path)

    def attention(self, module, inputs):
        if not self.report_attention:
            return None
        return module.route(module.attention(inputs[0]), 1.0)


def dynamic_network(identical_experts: bool = False):
    torch.manual_seed(41)
    model = nn.Sequential(DynamicConv2d(3, 6, 3, padding=1, experts=4), nn.ReLU(),
                          DynamicConv2d(6, 6, 3, padding=1, groups=6, experts=3, routing="sigmoid"))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
        if identical_experts:  # pi then cannot change the output: only the attention check can see it
            model[0].weight.copy_(model[0].weight[:1].expand_as(model[0].weight))
            model[0].bias.copy_(model[0].bias[:1].expand_as(model[0].bias))
    return model.eval()


def test_attention_is_compared_with_what_pytorch_mixed(tmp_path):
    converter = PapersDynamicConv()
    register_converter(converter)
    try:
        report = export(dynamic_network(), image(), tmp_path / "out")
    finally:
        unregister_converter(converter)
    assert report.differences.attention_checked == ["0", "2"] and not report.differences.attention_unchecked
    assert report.differences.reference_attention <= 1e-6


def test_a_wrong_attention_cannot_be_written_even_when_outputs_match(tmp_path):
    converter = PapersDynamicConv(fc2_shift=0.5, report_attention=True)
    register_converter(converter)
    try:
        with pytest.raises(VerificationError, match=r"attention of the written model differs from PyTorch's .*"
                                                    r"0 \(module 0\): pi differs by"):
            export(dynamic_network(identical_experts=True)[:1], image(), tmp_path / "out")
    finally:
        unregister_converter(converter)
    assert leftovers(tmp_path) == []
