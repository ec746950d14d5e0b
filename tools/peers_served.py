"""Served mode of `tools/bench_peers.py`: the same networks over HTTP, dyserve against FastAPI + ONNX Runtime.

    ~/.cache/dyserve/venv-torch/bin/python tools/bench_peers.py --served [--busy-core] [--compare OTHER_DYSERVE]

After bench_peers has exported the networks (same graphs as models/, weights drawn in PyTorch) and
checked that dyserve, ONNX Runtime and PyTorch agree on them, this module
  1. starts `dyserve serve` (the release binary, config/dyserve.yaml, --models-dir on the exported
     models) and a FastAPI + ONNX Runtime server (tools/peers_fastapi_server.py under uvicorn, one
     worker, the same ONNX exports with the same intra-op threads), and checks one served answer of
     each against ONNX Runtime in-process;
  2. in R rounds, rotating the order every round, times per network: in-process `dyserve bench`
     (its own process, as bench_peers does), and each server with a sequential client on one
     keep-alive connection sending the raw FP32 1x3x224x224 body (`application/octet-stream` +
     `X-Tensor-Shape`), batch 1, one request at a time;
  3. with --busy-core, times every served configuration a second time in each round while another
     process keeps one core busy (a Python busy loop, started just before and stopped just after);
  4. with --compare BINARY, times a second dyserve build the same way (bench and served) in the same
     rounds: an A/B comparison that shares every bit of machine noise;
  5. prints the CPU (lscpu model and SIMD flags), p50 and p99 of each configuration over every request
     of every round, and the ratios the serving issue's targets are stated in.

Figures from a machine that other processes are using are only good for A/B comparisons within one run.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
SETTLE_SECONDS = 0.3


def add_arguments(parser) -> None:
    group = parser.add_argument_group("served mode (tools/peers_served.py)")
    group.add_argument("--served", action="store_true",
                       help="time the networks served over HTTP (dyserve serve, FastAPI + ONNX Runtime) instead")
    group.add_argument("--requests", type=int, default=100,
                       help="served mode: timed requests per server per round (default 100)")
    group.add_argument("--busy-core", action="store_true",
                       help="served mode: also time each server while another process keeps one core busy")
    group.add_argument("--compare", metavar="BINARY",
                       help="served mode: a second dyserve binary timed in the same rounds (A/B)")


def cpu_description() -> str:
    """lscpu's model name and the SIMD flags that decide which kernels run."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        return f"lscpu failed: {error}"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    model = fields.get("Model name", "?").strip()
    flags = fields.get("Flags", "").split()
    simd = [f for f in flags if f in ("sse4_2", "avx", "avx2", "fma", "f16c") or f.startswith(("avx512", "amx", "avx_vnni"))]
    return f"{model}; {os.cpu_count()} logical CPUs; SIMD flags: {' '.join(simd) or 'none'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(process: subprocess.Popen, port: int, path: str, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode} before it was ready")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} was not ready on port {port} after {seconds:.0f} s")


class Server:
    """A server process on a free port, with a keep-alive client connection."""

    def __init__(self, label: str, command: list, env: dict, ready_path: str, cwd: Path = REPO):
        self.label = label
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"peers-served-{self.port}.log", "w+")
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_ready(self.process, self.port, ready_path, label)
        except SystemExit:
            self.log.seek(0)
            sys.stderr.write(self.log.read()[-4000:])
            self.stop()
            raise
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def infer(self, model: str, body: bytes, shape: str) -> bytes:
        self.connection.request("POST", f"/infer?model={model}", body=body,
                                headers={"Content-Type": "application/octet-stream", "X-Tensor-Shape": shape})
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"{self.label}: {model} answered {response.status}: {data[:300]!r}")
        return data

    def time_requests(self, model: str, body: bytes, shape: str, count: int, warmup: int) -> list:
        """Wall times in ms of `count` sequential requests after `warmup` untimed ones, on one fresh
        keep-alive connection (servers close idle ones while the other configurations are timed)."""
        self.connection.close()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for _ in range(max(1, warmup)):
            self.infer(model, body, shape)
        times = []
        for _ in range(count):
            start = time.perf_counter_ns()
            self.infer(model, body, shape)
            times.append((time.perf_counter_ns() - start) / 1e6)
        return times

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def first_output(data: bytes) -> np.ndarray:
    """The first output's values from either server's JSON answer."""
    doc = json.loads(data)
    outputs = doc.get("outputs")
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) and "data" in outputs[0]:
        return np.asarray(outputs[0]["data"], dtype=np.float32).ravel()
    raise SystemExit(f"unexpected answer: {data[:300]!r}")


class BusyCore:
    """Another process keeping one core busy while it is entered."""

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def percentile(values: list, q: float) -> float:
    """Nearest rank: the ceil(q n)-th smallest value."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(np.ceil(q * len(ordered))) - 1))]


def run(args, binary: Path, dy, work: Path, models: dict, x: np.ndarray) -> int:
    """Served mode's measurements and report; `models` is bench_peers' prepared models by kind."""
    body, shape = x.astype("<f4").tobytes(), ",".join(str(d) for d in x.shape)
    names = [m["name"] for m in models.values()]
    binaries = {"dyserve": Path(binary)}
    if args.compare:
        binaries["dyserve(B)"] = Path(args.compare)
    print(f"CPU: {cpu_description()}")
    print("OpenMP settings in the environment: " + (", ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ)
                                                             if k.startswith(("OMP_", "GOMP_"))) or "none"))
    for label, path in binaries.items():
        print(f"{label}: {path}")

    servers = {}
    try:
        for label, path in binaries.items():
            servers[label] = Server(label, [str(path), "serve", "--config", str(REPO / "config" / "dyserve.yaml"),
                                            "--host", "127.0.0.1", "--port", "{port}", "--models-dir", str(work),
                                            "--models", ",".join(names)], dict(os.environ), "/readyz")
        onnx = ",".join(f"{m['name']}={work / (m['name'] + '.onnx')}" for m in models.values())
        servers["fastapi-ort"] = Server(
            "fastapi-ort", [sys.executable, "-m", "uvicorn", "peers_fastapi_server:app", "--app-dir", str(TOOLS),
                            "--host", "127.0.0.1", "--port", "{port}", "--workers", "1", "--no-access-log",
                            "--log-level", "warning"],
            dict(os.environ, PEERS_ONNX=onnx, PEERS_THREADS=str(args.threads)), "/healthz")

        # Every server must answer what ONNX Runtime computes in-process before anything is timed.
        for kind, m in models.items():
            (expected,) = m["session"].run(["output"], {"input": x})
            for label, server in servers.items():
                got = first_output(server.infer(m["name"], body, shape))
                diff = float(np.abs(got - expected.ravel()).max())
                if diff > args.atol * max(1.0, float(np.abs(expected).max())):
                    raise SystemExit(f"{label} serves {m['name']} {diff:.2e} away from ONNX Runtime")
                print(f"{m['name']} served by {label}: max abs diff vs ONNX Runtime in-process {diff:.2e}")

        configs = []  # (label, kind, served?, busy?, measure -> list of ms)
        for kind, m in models.items():
            for label, path in binaries.items():
                engine = dy.__class__(path, dy.backend, dy.threads)
                configs.append((f"{label} bench {kind}", kind, False, False,
                                lambda m=m, engine=engine: [engine.bench(m["dir"], 1, args.iterations,
                                                                         args.warmup)["median_ms"]]))
            for label, server in servers.items():
                for busy in ([False, True] if args.busy_core else [False]):
                    configs.append((f"{label} served {kind}" + (" busy" if busy else ""), kind, True, busy,
                                    lambda m=m, server=server: server.time_requests(m["name"], body, shape,
                                                                                    args.requests, args.warmup)))

        print("load average before timing (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
        samples = {label: [] for label, *_ in configs}
        round_medians = {label: [] for label, *_ in configs}
        for r in range(args.rounds):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for label, _, _, busy, measure in order:
                time.sleep(SETTLE_SECONDS)
                if busy:
                    with BusyCore():
                        values = measure()
                else:
                    values = measure()
                samples[label].extend(values)
                round_medians[label].append(statistics.median(values))
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{label} {round_medians[label][-1]:.2f}"
                                                               for label, *_ in configs), flush=True)
        print("load average after timing (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    finally:
        for server in servers.values():
            server.stop()

    p50 = {}
    print()
    print("| configuration | p50 ms | p99 ms | per-round medians min..max | requests |")
    print("|---|---|---|---|---|")
    for label, _, served, _, _ in configs:
        values = samples[label]
        # In-process bench gives one median per round: its p50 is the median of those, it has no p99.
        p50[label] = statistics.median(values)
        p99 = f"{percentile(values, 0.99):.2f}" if served else "-"
        count = len(values) if served else f"{args.rounds} x {args.iterations} (bench)"
        print(f"| {label} | {p50[label]:.2f} | {p99} | {min(round_medians[label]):.2f}..{max(round_medians[label]):.2f} "
              f"| {count} |")
    print()

    def ratio(text, a, b, target=None):
        if a in p50 and b in p50:
            print(f"- {text}: {p50[a] / p50[b]:.2f}" + (f" (target {target})" if target else ""))

    print("ratios of p50s:")
    for kind in models:
        for label in binaries:
            ratio(f"{label} served {kind} / {label} in-process bench {kind}", f"{label} served {kind}",
                  f"{label} bench {kind}", "<= 1.15")
            ratio(f"FastAPI+ORT served {kind} / {label} served {kind} (speed-up)", f"fastapi-ort served {kind}",
                  f"{label} served {kind}", ">= 2" if kind == "dynamic" else ">= 1")
            ratio(f"{label} served {kind} with one core busy / idle", f"{label} served {kind} busy",
                  f"{label} served {kind}", "<= 2")
        ratio(f"FastAPI+ORT served {kind} with one core busy / idle", f"fastapi-ort served {kind} busy",
              f"fastapi-ort served {kind}")
        if args.compare:
            ratio(f"dyserve(B) / dyserve served {kind}", f"dyserve(B) served {kind}", f"dyserve served {kind}")
            ratio(f"dyserve(B) / dyserve bench {kind}", f"dyserve(B) bench {kind}", f"dyserve bench {kind}")
    return 0
