"""A network the exporter has never seen, written the way the public DY repositories write modules:
a renamed subclass of kaijieshi7's dynamic convolution, Islanna's and DynamicHead's DY-ReLUs, a
hand-written squeeze-and-excitation block and residual additions."""

from __future__ import annotations

import torch.nn as nn

from dy_helpers import export_checked, image, ops, randomize
from public_modules.dynamichead import DYReLU
from public_modules.islanna import DyReLUA, DyReLUB
from public_modules.kaijieshi import Dynamic_conv2d


class MyDynamicConv(Dynamic_conv2d):
    """A user's renamed subclass with an extra attribute and a different constructor."""

    def __init__(self, cin, cout, stride=1, groups=1):
        super().__init__(cin, cout, 3, ratio=0.5, stride=stride, padding=1, groups=groups, K=4, temperature=31)
        self.note = "trained with annealing"


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduced):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = MyDynamicConv(channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = DyReLUB(channels, reduction=4)
        self.conv2 = MyDynamicConv(channels, channels, groups=channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.se = SqueezeExcite(channels, channels // 4)

    def forward(self, x):
        y = self.act1(self.bn1(self.conv1(x)))
        y = self.se(self.bn2(self.conv2(y)))
        return x + y


class UnseenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.stem_act = DyReLUA(16, reduction=4)
        self.block1 = Block(16)
        self.down = MyDynamicConv(16, 32, stride=2)
        self.down_act = DYReLU(32, 32, use_spatial=True)
        self.block2 = Block(32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 7)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(x)))
        x = self.block1(x)
        x = self.down_act(self.down(x))
        x = self.block2(x)
        return self.fc(self.pool(x).flatten(1))


def test_unseen_network_converts_and_matches(tmp_path):
    model = randomize(UnseenNet(), seed=30)
    doc, _, _ = export_checked(model, image(2, 3, 32), tmp_path)
    written = ops(doc)
    assert written.count("dynamic_conv2d") == 5
    assert written.count("dy_relu") == 4
    assert written.count("mul") == 2 and written.count("add") == 2
    dyrelus = [n["attrs"] for n in doc["nodes"] if n["op"] == "dy_relu"]
    assert [(a["variant"], a["layout"]) for a in dyrelus] == [("A", "paper"), ("B", "per_channel"),
                                                              ("C", "pairs"), ("B", "per_channel")]
