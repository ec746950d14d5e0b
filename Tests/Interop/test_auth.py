"""API keys end to end (docs/auth.md): `dyserve serve` with a keys file, called by raw requests, the
real tritonclient (its `headers=`) and the kserve SDK (its `headers=`); start-up refusing bad key
files with the line named; no key in the log."""
import os
import secrets
import subprocess

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from kserve import InferInput, InferRequest
from tritonclient.utils import InferenceServerException

from conftest import REPO, Server, binary
from reference import digits_batch, dyserve_run
from test_kserve import call as kserve_call

MODEL = "dy-digits"
KEYS = {scope: f"{scope}-{secrets.token_urlsafe(18)}" for scope in ("inference", "introspection", "admin")}
KEYS["all"] = secrets.token_urlsafe(24)


def bearer(name):
    return {"Authorization": f"Bearer {KEYS[name]}"}


def write_keys(path, mode=0o600):
    path.write_text("# interop test keys\n"
                    + "".join(f"{KEYS[s]} {s}\n" for s in ("inference", "introspection", "admin"))
                    + f"{KEYS['all']} inference,introspection,admin  # everything\n")
    path.chmod(mode)
    return path


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth")
    keys = write_keys(folder / "keys")
    # Debug logging, so the log check below sees everything the service writes.
    s = Server(MODEL, folder / "serve.log", env={"DYSERVE_AUTH_KEYS_FILE": str(keys), "DYSERVE_LOG_LEVEL": "debug"})
    s.log_path = folder / "serve.log"
    yield s
    s.stop()


# (method, path, scope needed) for every endpoint; None: open.
ENDPOINTS = [
    ("GET", "/healthz", None), ("GET", "/readyz", None),
    ("GET", "/v2/health/live", None), ("GET", "/v2/health/ready", None),
    ("POST", "/infer", "inference"), ("POST", f"/v2/models/{MODEL}/infer", "inference"),
    ("GET", "/attention", "introspection"), ("GET", "/metrics", "introspection"),
    ("GET", "/v2/models/stats", "introspection"), ("GET", f"/v2/models/{MODEL}/stats", "introspection"),
    ("GET", "/", "introspection"), ("GET", "/explorer/app.js", "introspection"),
    ("GET", "/models", "inference"), ("GET", "/v2", "inference"), ("GET", f"/v2/models/{MODEL}", "inference"),
    ("GET", f"/v2/models/{MODEL}/ready", "inference"), ("GET", f"/v2/models/{MODEL}/config", "inference"),
    ("POST", "/v2/repository/index", "admin"), ("POST", f"/v2/repository/models/{MODEL}/load", "admin"),
    ("POST", "/v2/repository/models/no-such/unload", "admin"), ("GET", "/no-such-path", "admin"),
]


@pytest.mark.parametrize("method,path,scope", ENDPOINTS)
def test_every_endpoint_with_each_key(auth_server, method, path, scope):
    url = auth_server.base + path
    anonymous = requests.request(method, url, timeout=30, data=b"{}" if method == "POST" else None)
    if scope is None:
        assert anonymous.status_code == 200
        return
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["WWW-Authenticate"] == f'Bearer realm="dyserve", scope="{scope}"'
    assert anonymous.headers["Content-Type"] == "application/json" and "needs an API key" in anonymous.json()["error"]
    for name in ("inference", "introspection", "admin"):
        r = requests.request(method, url, headers=bearer(name), timeout=30, data=b"{}" if method == "POST" else None)
        if name == scope:
            assert r.status_code not in (401, 403), r.text
        else:
            assert r.status_code == 403, r.text
            assert r.headers["WWW-Authenticate"] == f'Bearer realm="dyserve", error="insufficient_scope", scope="{scope}"'


def test_wrong_and_malformed_keys(auth_server):
    url = f"{auth_server.base}/v2/models/{MODEL}"
    wrong = requests.get(url, headers={"Authorization": "Bearer " + secrets.token_urlsafe(24)}, timeout=10)
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert wrong.json() == {"error": "the API key is not valid"}
    malformed = requests.get(url, headers={"Authorization": "Bearer two tokens"}, timeout=10)
    assert malformed.status_code == 400 and 'error="invalid_request"' in malformed.headers["WWW-Authenticate"]
    basic = requests.get(url, auth=("user", "password"), timeout=10)
    assert basic.status_code == 401 and "error=" not in basic.headers["WWW-Authenticate"]


def test_trace_outputs_need_introspection(auth_server):
    x = digits_batch(1, seed=40)
    body = {"model": MODEL, "input": x.tolist(), "return_trace": True}
    assert requests.post(f"{auth_server.base}/infer", json=body, headers=bearer("inference"), timeout=30).status_code == 403
    traced = requests.post(f"{auth_server.base}/infer", json=body, headers=bearer("all"), timeout=30)
    assert traced.status_code == 200 and "trace" in traced.json()


def test_tritonclient_with_headers(auth_server):
    client = httpclient.InferenceServerClient(auth_server.url)
    try:
        assert client.is_server_live() and client.is_server_ready()  # probes: no key
        assert client.get_model_metadata(MODEL, headers=bearer("inference"))["name"] == MODEL
        x = digits_batch(2, seed=41)
        tensor = httpclient.InferInput("input", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=True)
        result = client.infer(MODEL, [tensor], headers=bearer("inference"))
        np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x))
        with pytest.raises(InferenceServerException, match="needs an API key with scope inference") as missing:
            client.infer(MODEL, [tensor])
        assert missing.value.status() == "401"
        with pytest.raises(InferenceServerException, match="needs scope admin") as scope:
            client.load_model(MODEL, headers=bearer("inference"))
        assert scope.value.status() == "403"
        client.load_model(MODEL, headers=bearer("admin"))
        assert client.is_model_ready(MODEL, headers=bearer("inference"))
        assert not client.is_model_ready(MODEL)  # model readiness is metadata: a 401 reads as not ready
    finally:
        client.close()


def test_kserve_with_headers(auth_server):
    assert kserve_call("is_server_ready", auth_server.base) is True
    x = digits_batch(3, seed=42)
    tensor = InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    request = InferRequest(model_name=MODEL, infer_inputs=[tensor])
    response = kserve_call("infer", auth_server.base, request, model_name=MODEL, headers=bearer("inference"))
    np.testing.assert_array_equal(response.outputs[0].as_numpy(), dyserve_run(MODEL, x))
    with pytest.raises(Exception, match="401|needs an API key"):
        kserve_call("infer", auth_server.base, request, model_name=MODEL)


def test_no_key_is_logged(auth_server):
    # Runs after the tests above (file order): the debug log has seen every kind of request.
    requests.get(f"{auth_server.base}/attention", headers=bearer("inference"), timeout=10)
    log = auth_server.log_path.read_text()
    assert "authentication on: 4 API key(s)" in log
    for key in KEYS.values():
        assert key not in log


def start_with_keys(tmp_path, text, mode=0o600):
    keys = tmp_path / "keys"
    keys.write_text(text)
    keys.chmod(mode)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYSERVE_")}
    env["DYSERVE_AUTH_KEYS_FILE"] = str(keys)
    return subprocess.run([str(binary()), "serve", "--port", "0", "--models", MODEL], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60), keys


@pytest.mark.parametrize("text,mode,message", [
    (f"{KEYS['admin']} admin\n\n{KEYS['inference']} inference,root\n", 0o600,
     "line 3: unknown scope 'root'; scopes are inference, introspection, admin"),
    ("short admin\n", 0o600, "line 1: the key has 5 characters; at least 16 are required"),
    (f"{KEYS['admin']}\n", 0o600, "line 1: the key has no scopes"),
    ("# no keys yet\n", 0o600, "the file holds no keys"),
    (f"{KEYS['admin']} admin\n", 0o644, "mode 644 lets other users read or change the keys"),
])
def test_bad_keys_files_stop_start_up(tmp_path, text, mode, message):
    result, keys = start_with_keys(tmp_path, text, mode)
    assert result.returncode != 0
    assert f"auth.keys_file {keys}" in result.stderr and message in result.stderr, result.stderr
    for key in KEYS.values():
        assert key not in result.stderr + result.stdout
