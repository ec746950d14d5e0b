"""Starts the release binary on a free local port and stops it again: shared by the deploy checks.

Standard library only, so scripts/check-deploy.sh can use it before any venv exists."""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


class ServedBinary:
    """`dyserve serve` on 127.0.0.1:<free port>, as a context manager that always stops it."""

    def __init__(self, binary, config=None, cwd=None, extra_env=None, startup_timeout=180.0, headers=None):
        self.binary = binary
        # Sent with get() and post_json(), e.g. an Authorization header when API keys are on.
        self.headers = headers or {}
        self.config = config
        self.cwd = cwd
        self.extra_env = extra_env or {}
        self.startup_timeout = startup_timeout
        self.process = None
        self.port = None
        self.log_path = None

    def __enter__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DYSERVE_")}
        env.update(self.extra_env)
        command = [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.config:
            command += ["--config", self.config]
        self.log_path = f"/tmp/dyserve-deploy-check-{os.getpid()}-{self.port}.log"
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dyserve exited with {self.process.returncode} at start-up:\n{self.log()}")
            if self.status("/healthz") == 200:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dyserve did not answer /healthz within {self.startup_timeout:.0f} s:\n{self.log()}")

    def __exit__(self, *exc):
        self.stop()
        if self.log_path and os.path.exists(self.log_path):
            os.unlink(self.log_path)
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self):
        try:
            with open(self.log_path) as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def status(self, path):
        """HTTP status of a GET, or None when nothing answers."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def get(self, path):
        request = urllib.request.Request(self.url(path), headers=self.headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()

    def post_json(self, path, body):
        request = urllib.request.Request(self.url(path), data=body, headers={"Content-Type": "application/json", **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def resident_kib(self):
        """(VmRSS, VmHWM) of the process in KiB, from /proc."""
        with open(f"/proc/{self.process.pid}/status") as handle:
            fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", handle.read(), re.M))
        return int(fields["VmRSS"]), int(fields["VmHWM"])


def metric_names(exposition):
    """Metric family names in a Prometheus text exposition (from # TYPE lines and samples)."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names
