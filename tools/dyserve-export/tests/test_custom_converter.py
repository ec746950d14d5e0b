"""The user-registered converter of docs/export.md, run exactly as the documentation shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from dyserve_export import ConversionError, export, unregister_converter
from dyserve_export.registry import converters
from standard_helpers import expect_dyserve_checked, recheck

DOCS = Path(__file__).resolve().parents[3] / "docs" / "export.md"
MARKER = "<!-- tested by tools/dyserve-export/tests/test_custom_converter.py -->"


def documented_example() -> str:
    text = DOCS.read_text()
    assert MARKER in text, f"{DOCS} lost its tested example"
    match = re.search(r"```python\n(.*?)```", text[text.index(MARKER):], re.S)
    return match.group(1)


def test_documented_custom_converter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_example"}
    torch.manual_seed(31)
    try:
        exec(compile(documented_example(), str(DOCS), "exec"), namespace)
    finally:
        kind = namespace.get("GainConvConverter")
        for converter in [c for c in converters() if kind and isinstance(c, kind)]:
            unregister_converter(converter)
    report = namespace["report"]
    assert report.converters == {"0": "my_project.gain_conv", "1": "standard.activation",
                                 "2": "my_project.gain_conv", "3": "standard.adaptive_pool", "4": "standard.flatten",
                                 "5": "standard.linear"}
    doc = json.loads((tmp_path / "models/gain-net/model.json").read_text())
    assert [n["op"] for n in doc["nodes"]][:3] == ["conv2d", "relu", "conv2d"]
    recheck(namespace["model"], torch.randn(2, 3, 32, 32), tmp_path / "models/gain-net")
    expect_dyserve_checked(report)

    # Unregistered again, the same module is refused with its path and class.
    with pytest.raises(ConversionError, match=r"^0 \(GainConv\): no converter matches this module \(parameters "
                                              r"weight \[8, 3, 3, 3\], gain \[8\], bias \[8\]\)"):
        export(namespace["model"], torch.randn(1, 3, 32, 32), tmp_path / "again")
