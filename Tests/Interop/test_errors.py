"""Every error of the V2 API over raw HTTP (`requests`): status code and `{"error": ...}` body.
Also the raw binary body (Inference-Header-Content-Length: 0), which tritonclient does not send."""
import gzip
import signal
import json
import struct
import threading
import time
import zlib

import numpy as np
import pytest
import requests

from conftest import BODY_LIMIT
from reference import digits_batch, dyserve_run

MODEL = "dy-digits"
HEADER = "Inference-Header-Content-Length"


def infer_url(server, model=MODEL, version=None):
    v = f"/versions/{version}" if version else ""
    return f"{server.base}/v2/models/{model}{v}/infer"


def json_input(data, shape=(1, 1, 8, 8), datatype="FP32", name="input"):
    return {"name": name, "shape": list(shape), "datatype": datatype, "data": data}


def binary_body(header: dict, *parts: bytes) -> tuple[bytes, dict]:
    text = json.dumps(header).encode()
    return text + b"".join(parts), {HEADER: str(len(text))}


def expect_error(response, status, fragment):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    message = response.json()["error"]
    assert fragment in message, message


ZEROS = [0.0] * 64
X_BYTES = np.zeros((1, 1, 8, 8), dtype=np.float32).tobytes()


# --- 404 and 405 -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v2/models/nope", "/v2/models/nope/ready", "/v2/models/nope/stats",
                                  f"/v2/models/{MODEL}/versions/2", f"/v2/models/{MODEL}/versions/2/ready",
                                  f"/v2/models/{MODEL}/versions/2/stats", "/v2/nothing", f"/v2/models/{MODEL}/versions/2/config"])
def test_get_unknown_is_404(server, path):
    expect_error(requests.get(server.base + path, timeout=10), 404, "")


def test_infer_unknown_model_or_version_is_404(server):
    body = {"inputs": [json_input(ZEROS)]}
    expect_error(requests.post(infer_url(server, "nope"), json=body, timeout=10), 404, "unknown model")
    expect_error(requests.post(infer_url(server, version="3"), json=body, timeout=10), 404, "no version \"3\"")


def test_wrong_method_is_405(server):
    r = requests.get(infer_url(server), timeout=10)
    expect_error(r, 405, "not allowed")
    assert r.headers["Allow"] == "POST"


# --- 400: the JSON header ----------------------------------------------------------------------

@pytest.mark.parametrize("body,fragment", [
    (b"{", "malformed JSON"),
    (b"[]", "expected a JSON object"),
    (b"{}", "inputs is missing"),
    (b'{"inputs": [], "extra": 1}', "unknown field \"extra\""),
    (b'{"inputs": []}', "input \"input\" is missing"),
    (json.dumps({"inputs": [json_input(ZEROS, name="x")]}).encode(), "no input \"x\""),
    (json.dumps({"inputs": [json_input(ZEROS, shape=(1, 1, 8, 7))]}).encode(), "does not match"),
    (json.dumps({"inputs": [json_input(ZEROS[:63])]}).encode(), "needs 64 values; data has 63"),
    (json.dumps({"inputs": [json_input(["a"] * 64, datatype="BYTES")]}).encode(), "BYTES"),
    (json.dumps({"inputs": [json_input([True] * 64, datatype="BOOL")]}).encode(), "BOOL"),
    (json.dumps({"inputs": [json_input([16777217] + [0] * 63, datatype="INT32")]}).encode(), "not exactly representable in FP32"),
    (json.dumps({"inputs": [json_input([1.5] + [0] * 63, datatype="INT8")]}).encode(), "not an integer"),
    (json.dumps({"inputs": [json_input([300] + [0] * 63, datatype="UINT8")]}).encode(), "out of the range of UINT8"),
    (json.dumps({"inputs": [json_input([1e39] + [0] * 63, datatype="FP64")]}).encode(), "FP32's range"),
    (json.dumps({"inputs": [json_input(ZEROS, datatype="FP8")]}).encode(), "not a V2 datatype"),
    (json.dumps({"inputs": [json_input(ZEROS)], "outputs": [{"name": "logits"}]}).encode(), "no output \"logits\""),
    (json.dumps({"inputs": [json_input(ZEROS)], "outputs": [{"name": "attention/conv1"}]}).encode(), "trace outputs need"),
    (json.dumps({"inputs": [json_input(ZEROS)], "parameters": {"trace": "everything"}}).encode(), "parameters.trace"),
    (json.dumps({"inputs": [json_input(ZEROS)], "parameters": {"temperature": 0}}).encode(), "temperature"),
    (b'{"inputs": [{"name": "input", "shape": [1,1,8,8], "datatype": "FP32", "data": ' + b"[" * 100 + b"]" * 100 + b"}]}",
     "nesting deeper"),
])
def test_malformed_json_requests_are_400(server, body, fragment):
    expect_error(requests.post(infer_url(server), data=body, timeout=10), 400, fragment)


# --- 400: the binary extension -----------------------------------------------------------------

def binary_input(size, shape=(1, 1, 8, 8), datatype="FP32"):
    return {"name": "input", "shape": list(shape), "datatype": datatype, "parameters": {"binary_data_size": size}}


def test_header_length_beyond_body_is_400(server):
    body, _ = binary_body({"inputs": [binary_input(256)]}, X_BYTES)
    r = requests.post(infer_url(server), data=body, headers={HEADER: str(len(body) + 1)}, timeout=10)
    expect_error(r, 400, "the body has only")


def test_header_length_not_a_number_is_400(server):
    body, _ = binary_body({"inputs": [binary_input(256)]}, X_BYTES)
    for value in ("-1", "abc", "1e3", "99999999999999999999999"):
        expect_error(requests.post(infer_url(server), data=body, headers={HEADER: value}, timeout=10), 400,
                     "Inference-Header-Content-Length")


def test_sizes_that_do_not_add_up_are_400(server):
    body, headers = binary_body({"inputs": [binary_input(256)]}, X_BYTES, b"\0" * 4)
    expect_error(requests.post(infer_url(server), data=body, headers=headers, timeout=10), 400, "add up to 256")


def test_binary_size_past_the_body_is_400(server):
    body, headers = binary_body({"inputs": [binary_input(256)]}, X_BYTES[:128])
    expect_error(requests.post(infer_url(server), data=body, headers=headers, timeout=10), 400, "past the end")


def test_shape_times_datatype_not_matching_bytes_is_400(server):
    body, headers = binary_body({"inputs": [binary_input(128)]}, X_BYTES[:128])
    expect_error(requests.post(infer_url(server), data=body, headers=headers, timeout=10), 400, "needs 256 bytes")


def test_shape_times_datatype_overflow_is_400(server):
    body, headers = binary_body({"inputs": [binary_input(256, shape=(2 ** 61, 1, 8, 8))]}, X_BYTES)
    expect_error(requests.post(infer_url(server), data=body, headers=headers, timeout=10), 400, "more than Int.max")


def test_binary_size_without_header_is_400(server):
    body, _ = binary_body({"inputs": [binary_input(256)]}, b"")
    expect_error(requests.post(infer_url(server), data=body, timeout=10), 400, "no Inference-Header-Content-Length")


def test_non_finite_binary_value_is_400(server):
    x = np.zeros((1, 1, 8, 8), dtype=np.float32)
    x[0, 0, 3, 4] = np.nan
    body, headers = binary_body({"inputs": [binary_input(256)]}, x.tobytes())
    expect_error(requests.post(infer_url(server), data=body, headers=headers, timeout=10), 400, "element 28")


def test_raw_body_with_header_length_zero(server):
    x = digits_batch(2, seed=11)
    r = requests.post(infer_url(server), data=x.tobytes(), headers={HEADER: "0"}, timeout=10)
    assert r.status_code == 200, r.text
    json_length = int(r.headers[HEADER])
    header = json.loads(r.content[:json_length])
    out = header["outputs"][0]
    assert out["name"] == "probabilities" and out["shape"] == [2, 10]
    assert out["parameters"]["binary_data_size"] == 80
    got = np.frombuffer(r.content[json_length:], dtype="<f4").reshape(2, 10)
    np.testing.assert_array_equal(got, dyserve_run(MODEL, x))
    expect_error(requests.post(infer_url(server), data=x.tobytes()[:-4], headers={HEADER: "0"}, timeout=10),
                 400, "multiple of 256 bytes")


# --- compression -------------------------------------------------------------------------------

def test_corrupt_gzip_is_400(server):
    good = gzip.compress(json.dumps({"inputs": [json_input(ZEROS)]}).encode())
    for body, fragment in [(b"not gzip at all", "corrupt"), (good[:-12], "truncated"), (good + b"junk", "after the end")]:
        r = requests.post(infer_url(server), data=body, headers={"Content-Encoding": "gzip"}, timeout=10)
        expect_error(r, 400, fragment)


def test_unknown_content_encoding_is_415(server):
    r = requests.post(infer_url(server), data=b"{}", headers={"Content-Encoding": "br"}, timeout=10)
    expect_error(r, 415, "Content-Encoding")


@pytest.mark.parametrize("encoding,compress", [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_compression_bomb_over_the_limit_is_413(server, encoding, compress):
    # A few kilobytes on the wire that inflate past the body limit.
    body = compress(b" " * (BODY_LIMIT + 1))
    assert len(body) < 8192
    r = requests.post(infer_url(server), data=body, headers={"Content-Encoding": encoding}, timeout=10)
    expect_error(r, 413, "inflates to more than the limit")


def test_body_over_the_limit_is_413(server):
    r = requests.post(infer_url(server), data=b" " * (BODY_LIMIT + 1), timeout=30)
    assert r.status_code == 413
    assert "error" in r.json()


def test_gzip_json_request_with_gzip_response(server):
    x = digits_batch(1, seed=12)
    body = gzip.compress(json.dumps({"id": "z", "inputs": [json_input(x.flatten().tolist())]}).encode())
    r = requests.post(infer_url(server), data=body, headers={"Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
                      timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Encoding"] == "gzip"
    response = r.json()  # requests inflates it
    assert response["id"] == "z"
    got = np.array(response["outputs"][0]["data"], dtype=np.float32).reshape(1, 10)
    np.testing.assert_array_equal(got, dyserve_run(MODEL, x))


# --- health and 503 ----------------------------------------------------------------------------

def test_health_bodies(server):
    for path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{MODEL}/ready"):
        r = requests.get(server.base + path, timeout=10)
        assert r.status_code == 200 and r.json()["ready" if path.endswith("ready") else "live"] is True


def test_not_ready_while_stopping_is_503(fresh_server):
    """After SIGTERM the server finishes the work it accepted; meanwhile it is not ready and
    refuses new inferences with 503. Slow dy-mobilenetv2 batches (reference backend) keep that
    window open: all eight must be in flight at once."""
    base = fresh_server.base
    x = np.zeros((8, 3, 224, 224), dtype=np.float32)
    body, headers = binary_body({"inputs": [binary_input(x.nbytes, shape=x.shape)]}, x.tobytes())
    results = []

    def slow():
        try:
            results.append(requests.post(infer_url(fresh_server, "dy-mobilenetv2"), data=body, headers=headers,
                                         timeout=300).status_code)
        except requests.RequestException as e:
            results.append(repr(e))

    threads = [threading.Thread(target=slow) for _ in range(8)]
    for t in threads:
        t.start()
    # Wait until every slow request is accepted (the in-flight gauge says so): accepted work must finish.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        metrics = requests.get(base + "/metrics", timeout=10).text
        line = next((l for l in metrics.splitlines()
                     if l.startswith('dyserve_in_flight_requests{model="dy-mobilenetv2"}')), "")
        if line and float(line.split()[-1]) >= len(threads):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the slow requests never reached the executor")
    fresh_server.process.send_signal(signal.SIGTERM)
    ready = None
    for _ in range(200):
        ready = requests.get(base + "/v2/health/ready", timeout=10)
        if ready.status_code == 503:
            break
        time.sleep(0.01)
    expect_error(ready, 503, "shutting down")
    r = requests.post(infer_url(fresh_server), json={"inputs": [json_input(ZEROS)]}, timeout=10)
    expect_error(r, 503, "shutting down")
    assert r.headers["Retry-After"] == "1"
    for t in threads:
        t.join()
    # Accepted work is never refused nor dropped: every slow request gets its 200.
    assert results == [200] * len(threads), results
