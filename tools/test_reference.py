"""Self-checks of the reference modules and the exporter, against naive loops written separately.

Run: /path/to/venv/bin/python tools/test_reference.py   (exit status 0 when every check passes)
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent / "dyserve-export"))  # the reference package

import export  # noqa: E402
from dyserve_export.reference import (Activation, Add, BatchNorm, Conv2d, DynamicConv2d, DyReLU,  # noqa: E402
                                      ExpertRouting, Flatten, GlobalAvgPool, Graph, Linear, ModelInfo, Mul,
                                      Pool2d, Softmax, TensorSpec)

torch.set_default_dtype(torch.float64)
FAILURES: list[str] = []


def check(name: str, got: torch.Tensor, want: torch.Tensor, tol: float = 1e-10) -> None:
    err = float((got - want).abs().max()) if got.shape == want.shape else math.inf
    status = "ok " if err <= tol else "FAIL"
    if err > tol:
        FAILURES.append(name)
    print(f"{status} {name}: max abs error {err:.3g}")


def naive_conv(x, w, b, stride, pad, dil, groups):
    """Direct loops over output positions; pad = (top, left, bottom, right)."""
    n, c, h, wd = x.shape
    out, cg, kh, kw = w.shape
    xp = torch.zeros(n, c, h + pad[0] + pad[2], wd + pad[1] + pad[3])
    xp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    oh = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = torch.zeros(n, out, oh, ow)
    per = out // groups
    for o in range(out):
        g = o // per
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg, i * stride[0]:i * stride[0] + dil[0] * (kh - 1) + 1:dil[0],
                           j * stride[1]:j * stride[1] + dil[1] * (kw - 1) + 1:dil[1]]
                y[:, o, i, j] = (patch * w[o]).sum(dim=(1, 2, 3)) + (b[o] if b is not None else 0)
    return y


def test_dynamic_conv():
    gen = torch.Generator().manual_seed(1)
    for routing in ("softmax", "sigmoid"):
        m = DynamicConv2d(4, 6, (3, 2), stride=2, padding=(1, 0, 2, 1), dilation=(1, 2), groups=2,
                          experts=3, routing=routing, gen=gen).double()
        x = torch.randn(3, 4, 7, 9, generator=gen)
        tau = 2.5
        trace = []
        y = m(x, tau=tau, trace=trace)
        z = m.attention.fc2(F.relu(m.attention.fc1(x.mean(dim=(2, 3)))))
        pi = torch.softmax(z / tau, 1) if routing == "softmax" else torch.sigmoid(z)
        want = torch.stack([
            naive_conv(x[i:i + 1], (pi[i].reshape(-1, 1, 1, 1, 1) * m.weight).sum(0), pi[i] @ m.bias,
                       (2, 2), (1, 0, 2, 1), (1, 2), 2)[0] for i in range(3)])
        check(f"dynamic_conv2d {routing}", y, want)
        check(f"dynamic_conv2d {routing} pi", trace[0]["attention"]["pi"], pi)
        q = pi / pi.sum(1, keepdim=True)
        check(f"dynamic_conv2d {routing} entropy", trace[0]["attention"]["entropy"], -(q * q.log()).sum(1))


def test_dy_relu():
    gen = torch.Generator().manual_seed(2)
    C, K = 5, 3
    x = torch.randn(2, C, 4, 3, generator=gen)
    for variant in ("A", "B", "C"):
        for layout in ("paper", "per_channel", "pairs"):
            for sq in ("sigmoid", "hard_sigmoid"):
                m = DyReLU(C, variant, K, reduction=2, layout=layout, squash_kind=sq,
                           alpha=[1.0, 0.2, -0.3], beta=[0.0, 0.1, -0.1], gen=gen).double()
                trace = []
                y = m(x, trace=trace)
                z = m.hyper.fc2(F.relu(m.hyper.fc1(x.mean(dim=(2, 3)))))
                theta = 2 * torch.sigmoid(z) - 1 if sq == "sigmoid" else 2 * torch.clamp(z + 3, 0, 6) / 6 - 1
                Cc = 1 if variant == "A" else C
                want = torch.empty_like(x)
                a_all = torch.empty(2, K * Cc)
                for n in range(2):
                    for c in range(C):
                        cc = 0 if variant == "A" else c
                        best = None
                        for k in range(K):
                            if layout == "paper":
                                ia, ib = k * Cc + cc, (K + k) * Cc + cc
                            elif layout == "per_channel":
                                ia, ib = cc * 2 * K + k, cc * 2 * K + K + k
                            else:
                                ia, ib = 2 * k * Cc + cc, (2 * k + 1) * Cc + cc
                            a = m.alpha[k] + m.lambda_a * theta[n, ia]
                            b = m.beta[k] + m.lambda_b * theta[n, ib]
                            a_all[n, k * Cc + cc] = a
                            line = a * x[n, c] + b
                            best = line if best is None else torch.maximum(best, line)
                        want[n, c] = best
                    if variant == "C":
                        s = m.spatial(x[n:n + 1]).reshape(-1)
                        pi = torch.clamp(12 / 3 * torch.softmax(s / 10, 0), max=1)
                        want[n] *= pi.reshape(4, 3)
                check(f"dy_relu {variant} {layout} {sq}", y, want)
                check(f"dy_relu {variant} {layout} {sq} trace a", trace[0]["activation"]["a"], a_all)


def test_pools():
    x = torch.randn(2, 3, 7, 9)
    m = Pool2d("max", 3, 2, (1, 0, 1, 2))
    xp = F.pad(x, (0, 2, 1, 1), value=-math.inf)
    want = torch.stack([torch.stack([xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].amax(dim=(2, 3))
                                     for j in range(5)], -1) for i in range(4)], -2)
    check("max_pool2d asymmetric", m(x), want)
    for include in (True, False):
        m = Pool2d("avg", 3, 2, 1, count_include_pad=include)
        check(f"avg_pool2d include_pad={include}", m(x),
              F.avg_pool2d(x, 3, 2, 1, count_include_pad=include))


def small_graph(gen) -> Graph:
    info = ModelInfo("roundtrip", temperature=1.7, labels=["a", "b", "c"],
                     inputs=[TensorSpec("input", [-1, 3, 7, 9])],
                     outputs=[TensorSpec("probs", [-1, 3], "prob")])
    g = Graph(info)
    g.add("c1", DynamicConv2d(3, 8, 3, padding=1, experts=4, gen=gen), "input")
    g.add("bn1", BatchNorm(8).randomize(gen), "c1")
    g.add("act1", DyReLU(8, "C", layout="pairs", squash_kind="hard_sigmoid", gen=gen), "bn1")
    g.add("c2", Conv2d(8, 8, 3, padding=1, groups=8, gen=gen), "act1")
    g.add("bn2", BatchNorm(8).randomize(gen), "c2")
    g.add("hs", Activation("hard_swish"), "bn2")
    g.add("res", Add(), "hs", "act1")
    g.add("gap", GlobalAvgPool(), "res")
    g.add("flat", Flatten(), "gap")
    g.add("fc", Linear(8, 3, gen=gen), "flat")
    g.add("prob", Softmax(), "fc")
    return g.eval()


def test_roundtrip():
    gen = torch.Generator().manual_seed(3)
    g = small_graph(gen).float()
    x = torch.randn(2, 3, 7, 9, dtype=torch.float32)
    with torch.no_grad():
        want, want_trace = g.run(x, trace=True)
        with tempfile.TemporaryDirectory() as d:
            export.save(g, d)
            back = export.load(d).float()
            got, got_trace = back.run(x, trace=True)
            check("round trip output", got["probs"], want["probs"], 0)
            check("round trip trace pi", got_trace[0]["attention"]["pi"], want_trace[0]["attention"]["pi"], 0)
            export.save(g, d, fold_batch_norm=True)
            f = export.load(d).float()
            check("folded node count", torch.tensor(float(len(f.names))), torch.tensor(float(len(g.names) - 2)), 0)
            check("folded output", f.run(x)[0]["probs"], want["probs"], 1e-5)
            check("override temperature changes output",
                  torch.tensor(float((back.run(x, temperature=30.0)[0]["probs"] - want["probs"]).abs().max() > 1e-4)),
                  torch.tensor(1.0), 0)


if __name__ == "__main__":
    with torch.no_grad():
        test_dynamic_conv()
        test_dy_relu()
        test_pools()
    test_roundtrip()
    print("FAILED: " + ", ".join(FAILURES) if FAILURES else "all checks passed")
    sys.exit(1 if FAILURES else 0)
