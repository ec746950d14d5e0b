#!/usr/bin/env python3
"""Write the shipped model `condconv-efficientnet-b0`: timm's `efficientnet_cc_b0_4e` (CondConv
EfficientNet-B0, 4 experts, Yang et al. 2019) as exported by dyserve-export, with synthetic weights.

    ~/.cache/dyserve/venv-torch/bin/python tools/make_condconv_model.py [--check-only]

1. builds the timm architecture with random weights (PyTorch's seeded initialisation, batch norms
   with non-trivial running statistics) and exports it with `dyserve_export.export` on a batch of 2
   224x224 images: the export is proven against the PyTorch module (reference interpreter, and
   `dyserve run` when DYSERVE_BINARY names a release build) or nothing is written;
2. replaces the weights file with `{"synthetic": {"seed": SEED}}` (docs/model-format.md), so the
   repository holds no 53 MB file: every role stays listed, only the values come from the seed;
3. runs the synthetic-weight model through the reference interpreter on random images and checks
   that its logits are finite, of a sane scale and not the same one-hot answer for every image;
4. writes models/condconv-efficientnet-b0/model.json (unless --check-only).

The graph (node names, ops, attributes) depends only on the architecture, so re-running the script
reproduces the file byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS / "dyserve-export"))

from dyserve_export import export  # noqa: E402
from dyserve_export.json_format import to_json  # noqa: E402
from dyserve_export.reference import load  # noqa: E402

NAME = "condconv-efficientnet-b0"
TIMM_ARCH = "efficientnet_cc_b0_4e"
SEED = 23  # synthetic weights of the shipped model
TORCH_SEED = 0  # the PyTorch weights the export is proven with
IMAGE = 224
CLASSES = 1000


def timm_model(seed: int) -> torch.nn.Module:
    """The architecture with seeded random weights and non-trivial batch-norm statistics (a missed or
    wrong batch norm would then show in the export's check)."""
    import timm

    torch.manual_seed(seed)
    model = timm.create_model(TIMM_ARCH, pretrained=False)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=gen))
                module.bias.copy_(0.2 * torch.rand(c, generator=gen) - 0.1)
                module.running_mean.copy_(0.2 * torch.rand(c, generator=gen) - 0.1)
                module.running_var.copy_(0.5 + torch.rand(c, generator=gen))
    return model.eval()


def synthetic_doc(exported: dict) -> dict:
    doc = dict(exported)
    doc["name"] = NAME
    doc["description"] = (f"CondConv EfficientNet-B0, 4 experts (timm {TIMM_ARCH}, Yang et al. 2019), "
                          f"224x224 RGB normalised as timm expects, 1000 logits. Exported by dyserve-export; "
                          f"synthetic seeded weights, for benchmarking only.")
    doc["weights"] = {"synthetic": {"seed": SEED}}
    return doc


def check_synthetic(model_dir: Path, batch: int = 4) -> dict:
    """Logit statistics of the synthetic-weight model on random normalised images; raises when absurd."""
    graph = load(model_dir)
    x = torch.randn(batch, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        outputs, _ = graph.run(x)
    logits = next(iter(outputs.values()))
    probs = torch.softmax(logits.double(), dim=1)
    stats = {"max_abs_logit": float(logits.abs().max()), "logit_std": float(logits.std()),
             "top1_classes": [int(i) for i in logits.argmax(dim=1)],
             "top1_probability": [round(float(p), 4) for p in probs.max(dim=1).values]}
    if not bool(torch.isfinite(logits).all()):
        raise SystemExit(f"synthetic weights give non-finite logits: {stats}")
    if not 0.1 <= stats["max_abs_logit"] <= 1000:
        raise SystemExit(f"synthetic weights give logits of an absurd scale: {stats}")
    if min(stats["top1_probability"]) > 0.99 and len(set(stats["top1_classes"])) == 1:
        raise SystemExit(f"synthetic weights give the same one-hot answer for every image: {stats}")
    return stats


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check-only", action="store_true", help="export and check, write nothing into models/")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    labels = [f"class_{i}" for i in range(CLASSES)]
    with tempfile.TemporaryDirectory(prefix="condconv-export-") as temp:
        exported_dir = Path(temp) / "exported"
        x = torch.randn(2, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(TORCH_SEED))
        report = export(timm_model(TORCH_SEED), x, exported_dir, name=NAME, labels=labels)
        print(report)
        doc = synthetic_doc(json.loads((exported_dir / "model.json").read_text()))
        synthetic_dir = Path(temp) / "synthetic"
        synthetic_dir.mkdir()
        text = to_json(doc) + "\n"
        (synthetic_dir / "model.json").write_text(text)
        stats = check_synthetic(synthetic_dir)
        print(f"synthetic weights (seed {SEED}) on random images: {stats}")
    if not args.check_only:
        out = REPO / "models" / NAME
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.json").write_text(text)
        print(f"wrote {out / 'model.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
