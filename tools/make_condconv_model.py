#!/usr/bin/env python3
"""Write the shipped model `condconv-efficientnet-b0`: timm's `efficientnet_cc_b0_4e` (CondConv
EfficientNet-B0, 4 experts, Yang et al. 2019) exported by dyserve-export.

    ~/.cache/dyserve/venv-torch/bin/python tools/make_condconv_model.py [--check-only] [--check-synthetic]

1. builds the timm architecture with timm's own random initialisation (seeded), batch norms with
   non-trivial running statistics, every tensor rounded to float16 (so the shipped F16 file holds
   exactly the values that were proven);
2. exports it with `dyserve_export.export` on a batch of 2 224x224 images: the export is proven against
   the PyTorch module (reference interpreter, and `dyserve run` when DYSERVE_BINARY names a release
   build) or nothing is written;
3. checks that the logits on random normalised images are finite and not one answer for every image;
4. writes models/condconv-efficientnet-b0/: model.json and weights.safetensors as F16 (the format
   converts F16 to FP32 at load, exactly), half the size of F32.

Why not `{"synthetic": {"seed": S}}` weights like mobilenetv2: with the format's synthetic draw every
expert is an independent He-uniform kernel, and CondConv's sigmoid routing weights do not sum to 1,
so each CondConv convolution amplifies its input more than a static one; over 24 of them the logits
reach about 1e5 and every image gets a one-hot answer. `--check-synthetic` measures that again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS / "dyserve-export"))

from dyserve_export import export  # noqa: E402
from dyserve_export.json_format import to_json  # noqa: E402
from dyserve_export.reference import load  # noqa: E402

NAME = "condconv-efficientnet-b0"
TIMM_ARCH = "efficientnet_cc_b0_4e"
TORCH_SEED = 0
SYNTHETIC_SEED = 23  # only for --check-synthetic
IMAGE = 224
CLASSES = 1000


def timm_model(seed: int, arch: str = TIMM_ARCH) -> torch.nn.Module:
    """A timm architecture with timm's initialisation, batch norms with non-trivial statistics (a missed or wrong batch norm then
    shows in the export's check), every tensor rounded to float16."""
    import timm

    torch.manual_seed(seed)
    model = timm.create_model(arch, pretrained=False)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=gen))
                module.bias.copy_(0.2 * torch.rand(c, generator=gen) - 0.1)
                module.running_mean.copy_(0.2 * torch.rand(c, generator=gen) - 0.1)
                module.running_var.copy_(0.5 + torch.rand(c, generator=gen))
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    return model.eval()


def logit_stats(model_dir: Path, batch: int = 4) -> dict:
    """Logits of a model directory (reference interpreter) on random normalised images."""
    graph = load(model_dir)
    x = torch.randn(batch, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        outputs, _ = graph.run(x)
    logits = next(iter(outputs.values()))
    probs = torch.softmax(logits.double(), dim=1)
    return {"finite": bool(torch.isfinite(logits).all()), "max_abs_logit": float(logits.abs().max()),
            "logit_std": float(logits.std()), "top1_classes": [int(i) for i in logits.argmax(dim=1)],
            "top1_probability": [round(float(p), 4) for p in probs.max(dim=1).values]}


def check_sane(stats: dict) -> None:
    if not stats["finite"] or stats["max_abs_logit"] > 1000:
        raise SystemExit(f"logits not finite or of an absurd scale: {stats}")
    if min(stats["top1_probability"]) > 0.99:
        raise SystemExit(f"a one-hot answer for every image: {stats}")


def model_doc(exported: dict) -> dict:
    doc = dict(exported)
    doc["name"] = NAME
    doc["description"] = (f"CondConv EfficientNet-B0, 4 experts (timm {TIMM_ARCH}, Yang et al. 2019), 224x224 RGB "
                          f"normalised as timm expects, 1000 logits. Exported by dyserve-export; timm's random "
                          f"initialisation (seed {TORCH_SEED}), for serving, tracing and benchmarking only.")
    return doc


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check-only", action="store_true", help="export and check, write nothing into models/")
    parser.add_argument("--check-synthetic", action="store_true",
                        help="also measure the logits the format's synthetic weights would give")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    labels = [f"class_{i}" for i in range(CLASSES)]
    with tempfile.TemporaryDirectory(prefix="condconv-export-") as temp:
        exported_dir = Path(temp) / "exported"
        x = torch.randn(2, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(TORCH_SEED))
        print(export(timm_model(TORCH_SEED), x, exported_dir, name=NAME, labels=labels))
        doc = model_doc(json.loads((exported_dir / "model.json").read_text()))
        stats = logit_stats(exported_dir)
        print(f"timm initialisation, logits on random images: {stats}")
        check_sane(stats)
        tensors = load_file(str(exported_dir / "weights.safetensors"))
        half = {name: t.half() for name, t in tensors.items()}
        if any(not torch.equal(t.float(), tensors[name]) for name, t in half.items()):
            raise SystemExit("a weight is not exactly representable in float16")
        if args.check_synthetic:
            synthetic_dir = Path(temp) / "synthetic"
            synthetic_dir.mkdir()
            (synthetic_dir / "model.json").write_text(
                to_json(dict(doc, weights={"synthetic": {"seed": SYNTHETIC_SEED}})) + "\n")
            print(f"synthetic weights (seed {SYNTHETIC_SEED}), logits on random images: {logit_stats(synthetic_dir)}")
    if not args.check_only:
        out = REPO / "models" / NAME
        out.mkdir(parents=True, exist_ok=True)
        save_file(half, str(out / "weights.safetensors"), metadata={"format": "pt"})
        (out / "model.json").write_text(to_json(doc) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
