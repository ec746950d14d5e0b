"""Trace records (as Graph.run returns them) as the JSON the server reports."""

from __future__ import annotations

import numpy as np
import torch


def f32(value: float) -> float:
    """A float rounded to FP32 and spelled with the fewest digits that read back the same."""
    return float(str(np.float32(value)))


def rows(t: torch.Tensor) -> list:
    return [[f32(v) for v in row] for row in t.double().tolist()]


def trace_json(records: list) -> list:
    out = []
    for r in records:
        att, act = r["attention"], r["activation"]
        item = {"name": r["name"], "op": r["op"], "attention": None, "activation": None}
        if att is not None:
            item["attention"] = {"routing": att["routing"], "temperature": f32(att["temperature"]),
                                 "pi": rows(att["pi"]), "entropy": [f32(v) for v in att["entropy"].tolist()]}
        if act is not None:
            item["activation"] = {
                "variant": act["variant"], "pieces": act["pieces"], "channels": act["channels"],
                "a": rows(act["a"]), "b": rows(act["b"]),
                "spatial": rows(act["spatial"]) if act["spatial"] is not None else None,
                "height": act["height"], "width": act["width"]}
        if r.get("routed_by") is not None:  # optional: only externally routed dynamic convolutions carry it
            item["routed_by"] = r["routed_by"]
        out.append(item)
    return out
