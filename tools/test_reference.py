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


def test_new_activations():
    x = torch.linspace(-5, 5, 101).reshape(1, 1, 1, 101)
    check("silu", Activation("silu")(x), F.silu(x))
    check("hard_sigmoid", Activation("hard_sigmoid")(x), F.hardsigmoid(x))


def expect_error(name: str, action, fragment: str) -> None:
    try:
        action()
    except ValueError as error:
        ok = fragment in str(error)
        print(f"{'ok ' if ok else 'FAIL'} {name}: {error}")
        if not ok:
            FAILURES.append(name)
        return
    print(f"FAIL {name}: no error")
    FAILURES.append(name)


def test_mul():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 4, 5, generator=gen)
    gate = torch.randn(2, 3, 1, 1, generator=gen)
    other = torch.randn(2, 3, 4, 5, generator=gen)
    m = Mul()
    want = torch.empty_like(x)
    for n in range(2):
        for c in range(3):
            want[n, c] = x[n, c] * gate[n, c, 0, 0]
    check("mul gate last", m(x, gate), want)
    check("mul gate first", m(gate, x), want)
    check("mul equal shapes", m(x, other), x * other)
    expect_error("mul rejects other broadcasts", lambda: m(x, torch.randn(1, 3, 1, 1)), "must be equal")
    expect_error("mul rejects a [C, 1, 1]-less gate", lambda: m(x, torch.randn(2, 3, 4, 1)), "must be equal")


def test_expert_routing():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 4, 5, 6, generator=gen)
    for routing in ("sigmoid", "softmax"):
        m = ExpertRouting(4, 3, routing, gen=gen).double()
        z = x.mean(dim=(2, 3)) @ m.weight.T + m.bias
        want = torch.sigmoid(z) if routing == "sigmoid" else torch.softmax(z / 2.5, 1)
        trace = []
        check(f"expert_routing {routing}", m(x, tau=2.5, trace=trace), want)
        check(f"expert_routing {routing} rank 2", m(x.mean(dim=(2, 3)), tau=2.5), want)
        check(f"expert_routing {routing} trace pi", trace[0]["attention"]["pi"], want)
        q = want / want.sum(1, keepdim=True)
        check(f"expert_routing {routing} entropy", trace[0]["attention"]["entropy"], -(q * q.log()).sum(1))
        tau = trace[0]["attention"]["temperature"]
        check(f"expert_routing {routing} trace temperature", torch.tensor(tau),
              torch.tensor(2.5 if routing == "softmax" else 1.0))
    # Temperature precedence in a graph: per-call override, then the node's, then the model's.
    info = ModelInfo("routing", temperature=0.5, inputs=[TensorSpec("input", [-1, 4, 5, 6])],
                     outputs=[TensorSpec("r", [-1, 3], "r")])
    for node_tau, override, used in ((None, None, 0.5), (3.0, None, 3.0), (3.0, 7.0, 7.0)):
        g = Graph(info)
        m = ExpertRouting(4, 3, "softmax", temperature=node_tau, gen=gen).double()
        g.add("r", m, "input")
        z = x.mean(dim=(2, 3)) @ m.weight.T + m.bias
        check(f"expert_routing temperature node {node_tau} call {override}",
              g.run(x, temperature=override)[0]["r"], torch.softmax(z / used, 1))


def test_external_dynamic_conv():
    gen = torch.Generator().manual_seed(6)
    m = DynamicConv2d(4, 6, (3, 2), stride=2, padding=(1, 0, 2, 1), dilation=(1, 2), groups=2, experts=3,
                      gen=gen, external_routing=True).double()
    x = torch.randn(3, 4, 7, 9, generator=gen)
    r = torch.rand(3, 3, generator=gen) * 2  # need not sum to 1
    want = torch.stack([
        naive_conv(x[i:i + 1], (r[i].reshape(-1, 1, 1, 1, 1) * m.weight).sum(0), r[i] @ m.bias,
                   (2, 2), (1, 0, 2, 1), (1, 2), 2)[0] for i in range(3)])
    check("dynamic_conv2d external routing", m(x, r), want)
    expect_error("external routing needs [N, K]", lambda: m(x, r[:, :2]), "expected [3, 3]")
    spec = {"out_channels": 6, "kernel_size": 3, "experts": 3}
    tensors = {"weight": torch.randn(3, 6, 4, 3, 3)}
    for attr in ("routing", "temperature", "reduction", "min_hidden"):
        expect_error(f"2-input dynamic_conv2d rejects {attr}",
                     lambda: DynamicConv2d.from_spec({**spec, attr: 1}, tensors, inputs=2), repr(attr))
    expect_error("2-input dynamic_conv2d rejects fc roles",
                 lambda: DynamicConv2d.from_spec(spec, {**tensors, "fc1_weight": torch.randn(4, 4)}, inputs=2),
                 "'fc1_weight'")
    # In a graph: the trace names the routing node; the routing reports its pi once.
    info = ModelInfo("ext", inputs=[TensorSpec("input", [-1, 4, 7, 9])], outputs=[TensorSpec("y", [-1], "c2")])
    g = Graph(info)
    g.add("route", ExpertRouting(4, 3, "sigmoid", gen=gen), "input")
    g.add("c1", DynamicConv2d(4, 4, 1, experts=3, gen=gen, external_routing=True), "input", "route")
    g.add("c2", DynamicConv2d(4, 4, 1, experts=3, gen=gen, external_routing=True), "c1", "route")
    records = export.trace_json(g.double().run(x, trace=True)[1])
    names = [(r["name"], r["op"], r.get("routed_by"), r["attention"] is None) for r in records]
    want_names = [("route", "expert_routing", None, False), ("c1", "dynamic_conv2d", "route", True),
                  ("c2", "dynamic_conv2d", "route", True)]
    check("trace of a shared routing", torch.tensor(float(names == want_names)), torch.tensor(1.0), 0)


def test_dy_relu_no_bias_and_one_piece():
    gen = torch.Generator().manual_seed(7)
    C = 5
    x = torch.randn(2, C, 4, 3, generator=gen)
    for K in (1, 3):
        alpha, beta = [1.0, 0.2, -0.3][:K], [0.1, -0.1, 0.3][:K]
        for variant in ("A", "B", "C"):
            for layout in ("paper", "per_channel", "pairs"):
                for bias in (True, False):
                    m = DyReLU(C, variant, K, reduction=2, layout=layout, squash_kind="sigmoid", alpha=alpha,
                               beta=beta, bias=bias, gen=gen).double()
                    trace = []
                    y = m(x, trace=trace)
                    theta = 2 * torch.sigmoid(m.hyper.fc2(F.relu(m.hyper.fc1(x.mean(dim=(2, 3)))))) - 1
                    Cc = 1 if variant == "A" else C
                    want = torch.empty_like(x)
                    b_all = torch.empty(2, K * Cc)
                    for n in range(2):
                        for c in range(C):
                            cc = 0 if variant == "A" else c
                            lines = []
                            for k in range(K):
                                if not bias:
                                    ia = cc * K + k if layout == "per_channel" else k * Cc + cc
                                    b = torch.tensor(beta[k])
                                elif layout == "paper":
                                    ia, ib = k * Cc + cc, (K + k) * Cc + cc
                                elif layout == "per_channel":
                                    ia, ib = cc * 2 * K + k, cc * 2 * K + K + k
                                else:
                                    ia, ib = 2 * k * Cc + cc, (2 * k + 1) * Cc + cc
                                if bias:
                                    b = beta[k] + m.lambda_b * theta[n, ib]
                                b_all[n, k * Cc + cc] = b
                                lines.append((alpha[k] + m.lambda_a * theta[n, ia]) * x[n, c] + b)
                            want[n, c] = torch.stack(lines).amax(0)
                        if variant == "C":
                            s = m.spatial(x[n:n + 1]).reshape(-1)
                            want[n] *= torch.clamp(12 / 3 * torch.softmax(s / 10, 0), max=1).reshape(4, 3)
                    label = f"dy_relu K={K} {variant} {layout} bias={bias}"
                    check(label, y, want)
                    check(label + " trace b", trace[0]["activation"]["b"], b_all)
                    expected_outputs = (2 if bias else 1) * K * Cc
                    check(label + " fc2 outputs", torch.tensor(float(m.hyper.fc2.out_features)),
                          torch.tensor(float(expected_outputs)), 0)


def test_synthetic_weights():
    from dyserve_export.reference.synthetic import SplitMix64
    stream = SplitMix64(0)
    # The first outputs of SplitMix64 from seed 0 (the published reference sequence).
    want = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    unit = stream.uniform(3, 0.0, 1.0)
    check("splitmix64 seed 0", torch.tensor(unit, dtype=torch.float64),
          torch.tensor([float(v >> 11) * 2.0 ** -53 for v in want]).float().double(), 0)
    doc = {
        "format_version": 1, "name": "synthetic", "version": "1",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 6, 6]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 4, 6, 6], "node": "c2"}],
        "weights": {"synthetic": {"seed": 11}},
        "nodes": [
            {"name": "conv", "op": "conv2d", "inputs": ["input"], "attrs": {"out_channels": 4, "kernel_size": 3, "padding": 1}},
            {"name": "bn", "op": "batch_norm", "inputs": ["conv"]},
            {"name": "route", "op": "expert_routing", "inputs": ["bn"], "attrs": {"experts": 2, "routing": "sigmoid"},
             "weights": {"weight": "ignored"}},
            {"name": "c2", "op": "dynamic_conv2d", "inputs": ["bn", "route"],
             "attrs": {"out_channels": 4, "kernel_size": 1, "experts": 2}},
        ]}
    import json
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "model.json").write_text(json.dumps(doc))
        g = export.load(d)
    stream = SplitMix64(11)
    lim = math.sqrt(6 / 27)
    w = torch.from_numpy(stream.uniform(4 * 27, -lim, lim)).reshape(4, 3, 3, 3)
    b = torch.from_numpy(stream.uniform(4, -1 / math.sqrt(27), 1 / math.sqrt(27)))
    check("synthetic conv weight", g.nodes["conv"].weight.double(), w.double(), 0)
    check("synthetic conv bias", g.nodes["conv"].bias.double(), b.double(), 0)
    gamma = torch.from_numpy(stream.uniform(4, 0.5, 1.5))
    check("synthetic batch_norm gamma follows", g.nodes["bn"].weight.double(), gamma.double(), 0)
    stream.uniform(12, 0, 1)  # beta, running mean, running var
    rw = torch.from_numpy(stream.uniform(8, -math.sqrt(6 / 4), math.sqrt(6 / 4))).reshape(2, 4)
    check("synthetic expert_routing weight", g.nodes["route"].weight.double(), rw.double(), 0)
    check("synthetic listed roles: no bias drawn", torch.tensor(float(g.nodes["route"].bias is None)),
          torch.tensor(1.0), 0)
    k = torch.from_numpy(stream.uniform(2 * 4 * 4, -math.sqrt(6 / 4), math.sqrt(6 / 4))).reshape(2, 4, 4, 1, 1)
    check("synthetic 2-input dynamic_conv2d experts", g.nodes["c2"].weight.double(), k.double(), 0)


def test_ext_roundtrip():
    gen = torch.Generator().manual_seed(8)
    info = ModelInfo("ext_roundtrip", inputs=[TensorSpec("input", [-1, 4, 5, 6])],
                     outputs=[TensorSpec("y", [-1, 4, 5, 6], "mul")])
    g = Graph(info)
    g.add("route", ExpertRouting(4, 3, "softmax", temperature=2.0, gen=gen), "input")
    g.add("dc", DynamicConv2d(4, 4, 3, padding=1, experts=3, gen=gen, external_routing=True), "input", "route")
    g.add("bn", BatchNorm(4).randomize(gen), "dc")
    g.add("act", DyReLU(4, "B", 1, layout="pairs", squash_kind="hard_sigmoid", bias=False, gen=gen), "bn")
    g.add("gap", GlobalAvgPool(), "act")
    g.add("gate", Activation("hard_sigmoid"), "gap")
    g.add("silu", Activation("silu"), "act")
    g.add("mul", Mul(), "gate", "silu")
    g = g.float().eval()
    x = torch.randn(2, 4, 5, 6, dtype=torch.float32)
    with torch.no_grad(), tempfile.TemporaryDirectory() as d:
        want = g.run(x)[0]["y"]
        export.save(g, d)
        check("ext round trip output", export.load(d).float().run(x)[0]["y"], want, 0)
        export.save(g, d, fold_batch_norm=True)
        back = export.load(d)
        check("no fold after a 2-input dynamic_conv2d", torch.tensor(float("bn" in back.names)), torch.tensor(1.0), 0)


if __name__ == "__main__":
    with torch.no_grad():
        test_dynamic_conv()
        test_dy_relu()
        test_pools()
        test_new_activations()
        test_mul()
        test_expert_routing()
        test_external_dynamic_conv()
        test_dy_relu_no_bias_and_one_piece()
        test_synthetic_weights()
    test_roundtrip()
    test_ext_roundtrip()
    print("FAILED: " + ", ".join(FAILURES) if FAILURES else "all checks passed")
    sys.exit(1 if FAILURES else 0)
