"""Train dy-digits (dynamic convolutions + DY-ReLU) and its static twin on scikit-learn's digits.

Data: sklearn.datasets.load_digits (1797 images, 8x8, values 0..16), stratified split with 25% held
out, seed 0. The model takes raw 0..16 pixels: its first node normalises them.

dy-digits: normalize -> dynamic_conv2d(1->16, 3x3, K=4) + BN -> DY-ReLU-B
        -> dynamic_conv2d(16->32, 3x3, stride 2) + BN -> DY-ReLU-C
        -> dynamic_conv2d(32->32, 3x3) + BN -> DY-ReLU-B -> global_avg_pool -> flatten -> linear(32->10)
        -> softmax. Temperature annealed from 30 to 1 over the first epochs (Chen et al. 2020); exported
        with tau = 1.
static twin: the same with conv2d + BN + ReLU.

Writes models/dy-digits/, Tests/DyNNTests/Fixtures/digits-heldout/ (inputs.npy, labels.npy,
expected.json computed by running the exported model through the reference interpreter) and
Tests/DyNNTests/Fixtures/digits-static/ (the static twin as a model dir + expected.json).

Run from the repository root:  python tools/train_digits.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))  # the reference package

import export  # noqa: E402
from dyserve_export.reference import (Activation, BatchNorm, Conv2d, DynamicConv2d, DyReLU, Flatten,  # noqa: E402
                                      GlobalAvgPool, Graph, Linear, ModelInfo, Normalize, Softmax, TensorSpec)

ROOT = Path(__file__).resolve().parent.parent
LABELS = [str(d) for d in range(10)]
WIDTHS = (16, 32, 32)


def digits_split(seed: int, held_out: float):
    """(x_train, y_train, x_test, y_test): float32 [M, 1, 8, 8] raw 0..16 and int64 labels."""
    digits = load_digits()
    x = digits.images.astype(np.float32).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=held_out, stratify=y, random_state=seed)


def info(name: str, description: str) -> ModelInfo:
    return ModelInfo(name=name, version="1", description=description, labels=LABELS, temperature=1.0,
                     inputs=[TensorSpec("input", [-1, 1, 8, 8])],
                     outputs=[TensorSpec("logits", [-1, 10], "fc")])


def build(dynamic: bool, mean: float, std: float, gen: torch.Generator) -> Graph:
    """The training graph; it ends at the logits (`finish` adds the softmax for export)."""
    name = "dy-digits" if dynamic else "digits-static"
    kind = "dynamic convolutions + DY-ReLU" if dynamic else "static twin of dy-digits (conv + BN + ReLU)"
    g = Graph(info(name, f"8x8 digit classifier, {kind}; input raw pixels 0..16"))
    g.add("normalize", Normalize([mean], [std]), "input")
    source, channels = "normalize", 1
    strides = (1, 2, 1)
    activations = ("B", "C", "B")
    for i, (width, stride, variant) in enumerate(zip(WIDTHS, strides, activations), start=1):
        if dynamic:
            conv = DynamicConv2d(channels, width, 3, stride=stride, padding=1, experts=4, gen=gen)
            act = DyReLU(width, variant, pieces=2, layout="paper", squash_kind="sigmoid", gen=gen)
            with torch.no_grad():  # start as a plain ReLU: a = (1, 0), b = (0, 0)
                act.hyper.fc2.weight.zero_()
                act.hyper.fc2.bias.zero_()
        else:
            conv = Conv2d(channels, width, 3, stride=stride, padding=1, gen=gen)
            act = Activation("relu")
        g.add(f"conv{i}", conv, source)
        g.add(f"bn{i}", BatchNorm(width), f"conv{i}")
        source = g.add(f"act{i}", act, f"bn{i}")
        channels = width
    g.add("gap", GlobalAvgPool(), source)
    g.add("flatten", Flatten(), "gap")
    g.add("fc", Linear(channels, 10, gen=gen), "flatten")
    return g


def finish(g: Graph) -> Graph:
    """Append the softmax and make `probabilities` the model's output."""
    g.add("probs", Softmax(1), "fc")
    g.info.outputs = [TensorSpec("probabilities", [-1, 10], "probs")]
    return g.eval()


def temperature_at(epoch: float, anneal_epochs: int) -> float:
    """Linear from 30 to 1 over the first `anneal_epochs` epochs, then 1."""
    if epoch >= anneal_epochs:
        return 1.0
    return 30.0 - 29.0 * epoch / anneal_epochs


def shifted(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image moved by up to one pixel in each direction, zeros filling in (no wrap-around)."""
    padded = F.pad(batch, (1, 1, 1, 1))
    offsets = torch.randint(0, 3, (len(batch), 2), generator=gen).tolist()
    return torch.stack([padded[i, :, dy:dy + 8, dx:dx + 8] for i, (dy, dx) in enumerate(offsets)])


def train(g: Graph, x: np.ndarray, y: np.ndarray, epochs: int, anneal_epochs: int, seed: int,
          dynamic: bool, lr: float, augment: bool) -> None:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.AdamW(g.parameters(), lr=lr, weight_decay=1e-4)
    batches = (len(xt) + 63) // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * batches)
    for epoch in range(epochs):
        g.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for b in range(batches):
            idx = order[b * 64:(b + 1) * 64]
            batch = xt[idx]
            if augment:
                batch = shifted(batch, gen)
            tau = temperature_at(epoch + b / batches, anneal_epochs) if dynamic else 1.0
            loss = F.cross_entropy(g(batch, temperature=tau), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"  epoch {epoch + 1:3d} loss {total / len(xt):.4f} tau {temperature_at(epoch + 1, anneal_epochs) if dynamic else 1.0:.1f}")


def evaluate(model_dir: Path, x: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy of the EXPORTED model (reloaded from disk) in float64, cross-checked in float32."""
    g = export.load(model_dir)
    with torch.no_grad():
        p64 = g.double()(torch.from_numpy(x).double())
        p32 = export.load(model_dir)(torch.from_numpy(x))
    pred = p64.argmax(dim=1).numpy()
    if not np.array_equal(pred, p32.argmax(dim=1).numpy()):
        raise RuntimeError(f"{model_dir}: float32 and float64 predictions disagree")
    top2 = torch.topk(p64, 2, dim=1).values
    correct = int((pred == y).sum())
    return {"accuracy": correct / len(y), "correct": correct, "count": int(len(y)),
            "predictions": [int(v) for v in pred],
            "min_top2_margin": float((top2[:, 0] - top2[:, 1]).min())}


def write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--anneal-epochs", type=int, default=10)
    parser.add_argument("--held-out", type=float, default=0.25)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--no-augment", action="store_true", help="train without random one-pixel shifts")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--fixtures", type=Path, default=ROOT / "Tests/DyNNTests/Fixtures")
    args = parser.parse_args()
    torch.set_num_threads(2)

    x_train, x_test, y_train, y_test = digits_split(args.seed, args.held_out)
    mean, std = float(x_train.mean()), float(x_train.std())
    print(f"digits: {len(x_train)} train, {len(x_test)} held out; pixel mean {mean:.4f} std {std:.4f}")

    results = {}
    for dynamic in (True, False):
        torch.manual_seed(args.seed)
        gen = torch.Generator().manual_seed(args.seed)
        g = build(dynamic, mean, std, gen)
        start = time.time()
        print(f"training {g.info.name}")
        train(g, x_train, y_train, args.epochs, args.anneal_epochs, args.seed, dynamic, args.lr,
              not args.no_augment)
        finish(g)
        out = args.models / "dy-digits" if dynamic else args.fixtures / "digits-static"
        export.save(g, out, fold_batch_norm=not dynamic)
        results[g.info.name] = evaluate(out, x_test, y_test)
        r = results[g.info.name]
        # Record the measured accuracy in the model itself (the weights do not change).
        g.info.description += (f"; held-out accuracy {r['correct']}/{r['count']} on sklearn digits "
                               f"(seed {args.seed}, {args.held_out:.0%} stratified split)")
        export.save(g, out, fold_batch_norm=not dynamic)
        print(f"  {g.info.name}: held-out accuracy {r['accuracy']:.4f} ({r['correct']}/{r['count']}), "
              f"min top-2 margin {r['min_top2_margin']:.2e}, {time.time() - start:.0f}s")
        if not dynamic:
            write_json(out / "expected.json", {k: r[k] for k in ("accuracy", "correct", "count", "predictions")})

    heldout = args.fixtures / "digits-heldout"
    heldout.mkdir(parents=True, exist_ok=True)
    np.save(heldout / "inputs.npy", x_test.astype(np.float32))
    np.save(heldout / "labels.npy", y_test.astype(np.float32))
    r = results["dy-digits"]
    write_json(heldout / "expected.json", {k: r[k] for k in ("accuracy", "correct", "count", "predictions")})
    print(json.dumps({name: {k: v for k, v in r.items() if k != "predictions"} for name, r in results.items()}))


if __name__ == "__main__":
    main()
