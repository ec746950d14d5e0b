"""Every padding form (int, pair, 'valid', 'same', timm's TF 'SAME'), pools, and the other standard
layers as timm writes them (BatchNormAct2d, DropPath, create_conv2d)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import BatchNormAct2d, Conv2dSame, DropPath, create_conv2d
from timm.layers.pool2d_same import AvgPool2dSame, MaxPool2dSame

from dyserve_export import ConversionError, export
from standard_helpers import expect_dyserve_checked, ops, recheck, with_batch_norm_statistics


def image(batch, channels, h, w, seed=1):
    return torch.randn(batch, channels, h, w, generator=torch.Generator().manual_seed(seed))


def nodes(directory):
    return json.loads((directory / "model.json").read_text())["nodes"]


def exported(model, x, directory, seed=3):
    torch.manual_seed(seed)
    for p in model.parameters():
        nn.init.normal_(p, std=0.5)
    model = with_batch_norm_statistics(model, seed)
    report = export(model, x, directory)
    recheck(model, x, directory)
    expect_dyserve_checked(report)
    return report


@pytest.mark.parametrize("size", [(9, 9), (10, 7)])
def test_conv_padding_forms(tmp_path, size):
    model = nn.Sequential(
        nn.Conv2d(4, 6, 3, padding=1),
        nn.Conv2d(6, 6, (3, 5), padding=(0, 2), dilation=(2, 1), groups=2),
        nn.Conv2d(6, 6, 4, padding="same"),  # even kernel: PyTorch pads 1 before, 2 after
        nn.Conv2d(6, 6, 3, padding="same", dilation=2, groups=6, bias=False),
        nn.Conv2d(6, 8, 3, stride=2, padding="valid"),
        nn.ReLU(),
    )
    exported(model, image(2, 4, *size), tmp_path / "m")
    written = nodes(tmp_path / "m")
    assert written[2]["attrs"]["padding"] == [1, 1, 2, 2]
    assert written[3]["attrs"]["padding"] == 2 and written[3]["attrs"]["groups"] == 6
    assert "padding" not in written[4]["attrs"] and written[4]["attrs"]["stride"] == 2


# Conv2dSame 3x3 stride 2: TF pads ceil(size / 2) outputs' worth, the odd extra row / column after.
TF_SAME_FIRST_CONV = {(9, 9): 1, (10, 12): [0, 0, 1, 1]}


@pytest.mark.parametrize("size", sorted(TF_SAME_FIRST_CONV))
def test_timm_tf_same_padding(tmp_path, size):
    model = nn.Sequential(
        Conv2dSame(3, 8, 3, stride=2),
        create_conv2d(8, 8, 5, stride=2, padding="same", depthwise=True),  # timm picks Conv2dSame
        MaxPool2dSame(3, stride=2),
        create_conv2d(8, 6, 3, padding="same"),  # static: a plain Conv2d with symmetric padding
        AvgPool2dSame(2, stride=2),
    )
    assert isinstance(model[1], Conv2dSame) and type(model[3]) is nn.Conv2d
    exported(model, image(2, 3, *size), tmp_path / "m")
    written = nodes(tmp_path / "m")
    assert written[0]["attrs"]["padding"] == TF_SAME_FIRST_CONV[size]
    assert [n["op"] for n in written] == ["conv2d", "conv2d", "max_pool2d", "conv2d", "avg_pool2d"]


def test_timm_batch_norm_act_and_drop_path(tmp_path):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(6, 6, 3, padding=1, bias=False)
            self.bn = BatchNormAct2d(6, act_layer=nn.SiLU)
            self.drop_path = DropPath(0.2)

        def forward(self, x):
            return x + self.drop_path(self.bn(self.conv(x)))

    model = nn.Sequential(Block(), BatchNormAct2d(6, apply_act=False), nn.Dropout(0.3), nn.Hardsigmoid())
    report = exported(model, image(2, 6, 5, 7), tmp_path / "m")
    assert ops(tmp_path / "m") == ["conv2d", "batch_norm", "silu", "add", "batch_norm", "hard_sigmoid"]
    assert report.converters["0.drop_path"] == "standard.probed_elementwise"
    assert report.converters["0.bn"] == "standard.batch_norm_act"


def test_pools_and_functional_calls(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.pool = nn.MaxPool2d(3, stride=2, padding=1)
            self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            self.adaptive = nn.AdaptiveAvgPool2d((2, 3))
            self.fc = nn.Linear(8 * 2 * 3, 5)

        def forward(self, x):
            x = F.relu6(self.conv(x))
            x = self.avg(self.pool(x))
            gate = torch.sigmoid(x.mean((2, 3), keepdim=True))
            x = gate * x + F.hardswish(x)
            x = F.silu(F.max_pool2d(x, 3, 1, 1))
            x = self.adaptive(x)
            x = x.view(x.size(0), -1).reshape(x.shape[0], -1)  # the second reshape changes nothing
            return torch.softmax(self.fc(F.dropout(x, 0.5, training=self.training)), dim=1)

    exported(Net(), image(3, 3, 16, 24), tmp_path / "m")
    written = ops(tmp_path / "m")
    assert written.count("mul") == 1 and written.count("avg_pool2d") == 2 and "softmax" in written


def test_ceil_mode_is_refused_where_it_changes_the_size(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2, 2, ceil_mode=True))
    exported(model, image(1, 3, 10, 10), tmp_path / "even")  # 8x8 -> 4x4 either way
    with pytest.raises(ConversionError) as error:
        export(model, image(1, 3, 11, 11), tmp_path / "odd")  # 9x9: ceil gives 5, floor 4
    assert "1 (MaxPool2d)" in str(error.value) and "ceil_mode" in str(error.value)
    assert not (tmp_path / "odd").exists()


def test_padding_mode_and_batch_statistics_are_refused(tmp_path):
    with pytest.raises(ConversionError, match=r"0 \(Conv2d\).*padding_mode 'reflect'"):
        export(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")), image(1, 3, 6, 6), tmp_path / "a")
    with pytest.raises(ConversionError, match=r"1 \(BatchNorm2d\).*running statistics"):
        export(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False)),
               image(1, 3, 6, 6), tmp_path / "b")
