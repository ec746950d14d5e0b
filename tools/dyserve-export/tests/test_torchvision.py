"""torchvision's mobilenet_v2, mobilenet_v3_small and resnet18 with random weights, batch 1, 224x224:
export, proven by export itself (and by `dyserve run` where DYSERVE_BINARY is set), and re-checked here."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torchvision

from dyserve_export import export
from standard_helpers import expect_dyserve_checked, ops, recheck, with_batch_norm_statistics

CASES = {
    # factory, ops the network must have been written with
    "mobilenet_v2": (torchvision.models.mobilenet_v2, {"conv2d", "batch_norm", "relu6", "add", "global_avg_pool",
                                                       "flatten", "linear"}),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, {"conv2d", "batch_norm", "hard_swish", "relu",
                                                                   "hard_sigmoid", "mul", "add", "global_avg_pool",
                                                                   "linear"}),
    "resnet18": (torchvision.models.resnet18, {"conv2d", "batch_norm", "relu", "max_pool2d", "add",
                                               "global_avg_pool", "linear"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_torchvision_network_exports_and_matches(name, tmp_path):
    factory, expected_ops = CASES[name]
    torch.manual_seed(12)
    model = with_batch_norm_statistics(factory(), seed=13)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(14))
    report = export(model, x, tmp_path / name)
    written = ops(tmp_path / name)
    assert expected_ops <= set(written), f"missing ops: {expected_ops - set(written)}"
    assert report.nodes == len(written)
    assert report.parameters == sum(p.numel() for p in model.parameters()) + sum(
        m.running_mean.numel() * 2 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert report.differences.reference_output <= 1e-4
    assert Counter(report.converters.values())["standard.conv2d"] == sum(
        isinstance(m, torch.nn.Conv2d) for m in model.modules())
    recheck(model, x, tmp_path / name)
    expect_dyserve_checked(report)
