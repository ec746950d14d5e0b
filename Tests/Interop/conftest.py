"""Fixtures: the release `dyserve` binary, started on a free port and stopped after the tests.

The binary is `.build/release/dyserve` at the repository root unless INTEROP_DYSERVE_BIN names another.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import tritonclient.http as httpclient

REPO = Path(__file__).resolve().parents[2]
BODY_LIMIT = 1 << 20  # a small body limit so the 413 tests send little


def binary() -> Path:
    path = Path(os.environ.get("INTEROP_DYSERVE_BIN", REPO / ".build" / "release" / "dyserve"))
    if not path.is_file():
        pytest.exit(f"{path} is not built; run: swift build -c release --product dyserve", returncode=2)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `dyserve serve` process and its base URL."""

    def __init__(self, models: str, log_path: Path, body_limit: int = BODY_LIMIT, models_dir: Path | None = None,
                 env: dict | None = None):
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.url}"
        env = dict(os.environ, DYSERVE_LIMITS_MAX_BODY_BYTES=str(body_limit), DYSERVE_LOG_LEVEL="warning") | (env or {})
        self.log = open(log_path, "w")
        extra = ["--models-dir", str(models_dir)] if models_dir else []
        self.process = subprocess.Popen(
            [str(binary()), "serve", "--port", str(self.port), "--models", models, *extra],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready(log_path)

    def wait_ready(self, log_path: Path, seconds: float = 120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dyserve exited with {self.process.returncode}: {log_path.read_text()}")
            try:
                if requests.get(f"{self.base}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"dyserve not ready after {seconds} s: {log_path.read_text()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server("dy-digits", tmp_path_factory.mktemp("serve") / "serve.log")
    yield s
    s.stop()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own, for tests that stop it. On the reference backend (about a second per
    batch of 8 dy-mobilenetv2 images, against tens of milliseconds on the fast one), so that work
    the test sends stays in flight while it observes the server stopping, however fast the engine."""
    s = Server("dy-digits,dy-mobilenetv2", tmp_path / "serve.log", body_limit=64 << 20,
               env={"DYSERVE_INFERENCE_BACKEND": "reference"})
    yield s
    s.stop()


@pytest.fixture
def repository_server(tmp_path):
    """A server of its own over a models folder the test may change: dy-digits to start with."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(REPO / "models" / "dy-digits", models / "dy-digits")
    s = Server("dy-digits", tmp_path / "serve.log", models_dir=models)
    s.models_dir = models
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server):
    """tritonclient's HTTP client of the shared server."""
    c = httpclient.InferenceServerClient(server.url)
    yield c
    c.close()
