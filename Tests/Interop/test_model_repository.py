"""tritonclient's model configuration, classification and model repository calls against
`dyserve serve`, and a load / unload / reload while a load generator runs against the same model."""
import json
import shutil
import threading
import time

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from reference import digits_batch, dyserve_run
from test_tritonclient import infer_input

MODEL = "dy-digits"


def test_server_lists_the_extensions(client):
    assert {"model_configuration", "classification", "model_repository"} <= set(client.get_server_metadata()["extensions"])


def test_model_config_in_tritons_form(client):
    config = client.get_model_config(MODEL)
    assert config["name"] == MODEL and config["platform"] == "dyserve" and config["backend"] == "dyserve"
    assert config["max_batch_size"] >= 1
    assert config["input"] == [{"name": "input", "data_type": "TYPE_FP32", "dims": [1, 8, 8], "format": "FORMAT_NONE",
                                "is_shape_tensor": False, "allow_ragged_batch": False, "optional": False}]
    assert config["output"][0]["name"] == "probabilities" and config["output"][0]["dims"] == [10]
    assert config["instance_group"][0]["kind"] == "KIND_CPU" and config["instance_group"][0]["count"] >= 1
    assert float(config["parameters"]["temperature"]["string_value"]) > 0
    assert config["parameters"]["routing"]["string_value"] == "softmax"
    if config["max_batch_size"] > 1:
        assert config["dynamic_batching"]["preferred_batch_size"] == [config["max_batch_size"]]
        assert config["dynamic_batching"]["max_queue_delay_microseconds"] >= 0
    assert client.get_model_config(MODEL, model_version="1") == config
    with pytest.raises(InferenceServerException, match="no version"):
        client.get_model_config(MODEL, model_version="9")


@pytest.mark.parametrize("binary", [True, False])
def test_class_count_gives_top_classes(client, binary):
    x = digits_batch(2, seed=21)
    result = client.infer(MODEL, [infer_input(x)],
                          outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=binary, class_count=3)])
    top = result.as_numpy("probabilities")
    assert top.shape == (2, 3)
    expected = dyserve_run(MODEL, x)
    for row, scores in zip(top, expected):
        order = np.argsort(-scores, kind="stable")[:3]
        for entry, index in zip(row, order):
            text = entry.decode() if isinstance(entry, bytes) else str(entry)
            score, idx, label = text.split(":")
            assert int(idx) == index and label == str(index)
            assert float(score) == pytest.approx(float(scores[index]), abs=1e-6)


def test_statistics_have_every_triton_field(client):
    client.infer(MODEL, [infer_input(digits_batch(1, seed=22))])
    stats = client.get_inference_statistics(MODEL)["model_stats"][0]
    for key in ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"):
        assert {"count", "ns"} <= set(stats["inference_stats"][key]), key
    for batch in stats["batch_stats"]:
        assert {"compute_input", "compute_infer", "compute_output"} <= set(batch)


def test_index_load_and_unload(repository_server):
    c = httpclient.InferenceServerClient(repository_server.url)
    try:
        index = {m["name"]: m for m in c.get_model_repository_index()}
        assert index[MODEL]["state"] == "READY"
        # Export a second model into the folder: it is served after a load, without a restart.
        fresh = repository_server.models_dir / "dy-digits-b"
        shutil.copytree(repository_server.models_dir / MODEL, fresh)
        spec = json.loads((fresh / "model.json").read_text())
        spec["name"] = "dy-digits-b"
        (fresh / "model.json").write_text(json.dumps(spec))
        assert {m["name"]: m for m in c.get_model_repository_index()}["dy-digits-b"]["state"] == "UNAVAILABLE"
        assert not c.is_model_ready("dy-digits-b")
        c.load_model("dy-digits-b")
        assert c.is_model_ready("dy-digits-b")
        x = digits_batch(1, seed=23)
        np.testing.assert_array_equal(c.infer("dy-digits-b", [infer_input(x)]).as_numpy("probabilities"), dyserve_run(MODEL, x))

        c.unload_model("dy-digits-b")
        assert not c.is_model_ready("dy-digits-b")
        r = requests.post(f"{repository_server.base}/v2/models/dy-digits-b/infer", timeout=10,
                          json={"inputs": [{"name": "input", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": x.ravel().tolist()}]})
        assert r.status_code == 503 and r.headers["Retry-After"] == "1" and "unloaded" in r.json()["error"]
        row = {m["name"]: m for m in c.get_model_repository_index()}["dy-digits-b"]
        assert row["state"] == "UNAVAILABLE" and row["reason"] == "unloaded"
        assert c.is_server_ready()

        # A folder that fails to load harms nobody.
        broken = repository_server.models_dir / "broken"
        broken.mkdir()
        (broken / "model.json").write_text("{not json")
        with pytest.raises(InferenceServerException, match="failed to load"):
            c.load_model("broken")
        assert "failed to load" in {m["name"]: m for m in c.get_model_repository_index()}["broken"]["reason"]
        assert c.is_server_ready() and c.is_model_ready(MODEL)
        with pytest.raises(InferenceServerException, match="no model folder"):
            c.load_model("nope")
        metrics = requests.get(f"{repository_server.base}/metrics", timeout=10).text
        assert 'dyserve_model_load_failures_total{model="broken"} 1' in metrics
    finally:
        c.close()


def test_reload_and_unload_under_load(repository_server):
    """Nothing but 200, or 503 with Retry-After while the model is unloaded, and no connection errors."""
    x = digits_batch(1, seed=24)
    body = {"inputs": [{"name": "input", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": x.ravel().tolist()}]}
    expected = dyserve_run(MODEL, x).ravel().tolist()
    url = f"{repository_server.base}/v2/models/{MODEL}/infer"
    stop = threading.Event()
    outcomes, problems = [], []
    lock = threading.Lock()

    def generate():
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    r = session.post(url, json=body, timeout=30)
                except requests.RequestException as e:
                    with lock:
                        problems.append(f"connection error: {e}")
                    continue
                with lock:
                    outcomes.append(r.status_code)
                    if r.status_code == 200:
                        got = r.json()["outputs"][0]["data"]
                        if not np.allclose(got, expected, rtol=1e-6, atol=1e-7):
                            problems.append("wrong answer")
                    elif not (r.status_code == 503 and r.headers.get("Retry-After")):
                        problems.append(f"{r.status_code}: {r.text}")

    threads = [threading.Thread(target=generate) for _ in range(4)]
    for t in threads:
        t.start()
    c = httpclient.InferenceServerClient(repository_server.url, network_timeout=120)
    try:
        time.sleep(0.5)
        c.load_model(MODEL)   # reload while serving
        time.sleep(0.5)
        c.unload_model(MODEL)
        time.sleep(0.5)
        c.load_model(MODEL)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        c.close()
    assert not problems, problems[:5]
    assert outcomes.count(200) > 0 and outcomes.count(503) > 0, (outcomes.count(200), outcomes.count(503))
    assert set(outcomes) <= {200, 503}
