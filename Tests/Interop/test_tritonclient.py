"""The real tritonclient HTTP client against `dyserve serve`: health, metadata, inference in every
encoding it speaks, compared with `dyserve run` on the same input."""
import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from reference import digits_batch, dyserve_run

MODEL = "dy-digits"



def infer_input(x: np.ndarray, binary: bool = True) -> httpclient.InferInput:
    i = httpclient.InferInput("input", list(x.shape), "FP32")
    i.set_data_from_numpy(x, binary_data=binary)
    return i


def test_liveness_and_readiness(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(MODEL)
    assert client.is_model_ready(MODEL, model_version="1")
    assert not client.is_model_ready("no-such-model")
    assert not client.is_model_ready(MODEL, model_version="2")


def test_server_metadata(client):
    meta = client.get_server_metadata()
    assert meta["name"] == "dyserve"
    assert meta["version"]
    assert {"binary_tensor_data", "parameters", "statistics"} <= set(meta["extensions"])


def test_model_metadata(client):
    meta = client.get_model_metadata(MODEL)
    assert meta["name"] == MODEL
    assert meta["versions"] == ["1"]
    assert meta["platform"] == "dyserve"
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]
    assert client.get_model_metadata(MODEL, model_version="1") == meta
    with pytest.raises(InferenceServerException, match="no version"):
        client.get_model_metadata(MODEL, model_version="7")


def test_binary_inputs_and_outputs_equal_dyserve_run(client):
    x = digits_batch(1, seed=1)
    result = client.infer(MODEL, [infer_input(x, binary=True)],
                          outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=True)])
    out = result.get_output("probabilities")
    assert out["parameters"]["binary_data_size"] == 40
    np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x))


def test_default_request_is_binary_both_ways(client):
    # No outputs named: the client sets binary_data_output and the server answers binary.
    x = digits_batch(1, seed=2)
    result = client.infer(MODEL, [infer_input(x, binary=True)])
    assert "binary_data_size" in result.get_output("probabilities")["parameters"]
    np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x))


def test_json_inputs_and_outputs_equal_dyserve_run(client):
    x = digits_batch(1, seed=3)
    result = client.infer(MODEL, [infer_input(x, binary=False)],
                          outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=False)],
                          request_id="json-1")
    response = result.get_response()
    assert response["id"] == "json-1"
    assert response["model_name"] == MODEL and response["model_version"] == "1"
    assert "data" in result.get_output("probabilities")
    # JSON carries each float in its shortest round-trip form, so this is exact too.
    np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x))


def test_batch_of_several_samples(client):
    x = digits_batch(7, seed=4)
    result = client.infer(MODEL, [infer_input(x, binary=True)])
    got = result.as_numpy("probabilities")
    assert got.shape == (7, 10)
    np.testing.assert_array_equal(got, dyserve_run(MODEL, x))
    np.testing.assert_allclose(got.sum(axis=1), np.ones(7), rtol=1e-5)


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_request_and_response(client, algorithm):
    x = digits_batch(3, seed=5)
    result = client.infer(MODEL, [infer_input(x, binary=True)],
                          request_compression_algorithm=algorithm, response_compression_algorithm=algorithm)
    np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x))


def test_other_datatypes_convert_exactly(client):
    x = digits_batch(2, seed=6)
    expected = dyserve_run(MODEL, x)
    for datatype, array in [("FP64", x.astype(np.float64)), ("INT32", x.astype(np.int32)),
                            ("UINT8", x.astype(np.uint8)), ("FP16", x.astype(np.float16))]:
        for binary in (True, False):
            i = httpclient.InferInput("input", list(x.shape), datatype)
            i.set_data_from_numpy(array, binary_data=binary)
            got = client.infer(MODEL, [i]).as_numpy("probabilities")
            np.testing.assert_array_equal(got, expected, err_msg=f"{datatype} binary={binary}")


def test_temperature_and_trace_outputs(client, server):
    x = digits_batch(2, seed=7)
    result = client.infer(MODEL, [infer_input(x, binary=True)], parameters={"trace": "full", "temperature": 4.0})
    np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x, temperature=4.0))
    names = [o["name"] for o in result.get_response()["outputs"]]
    assert names[0] == "probabilities"
    for layer in ("conv1", "conv2", "conv3"):
        pi = result.as_numpy(f"attention/{layer}")
        assert pi.shape == (2, 4)
        np.testing.assert_allclose(pi.sum(axis=1), np.ones(2), rtol=1e-5)
    assert result.as_numpy("dyrelu_a/act1").shape == (2, 2 * 16)
    assert result.as_numpy("dyrelu_b/act2").shape == (2, 2 * 32)
    assert result.as_numpy("dyrelu_spatial/act2").shape == (2, 16)
    trace_id = result.get_response()["parameters"]["trace_id"]
    trace = requests.get(f"{server.base}/attention", params={"id": trace_id}, timeout=10).json()
    assert trace["model"] == MODEL and trace["temperature"] == 4.0 and trace["trace"] == "full"
    conv1 = next(layer for layer in trace["layers"] if layer["name"] == "conv1")
    np.testing.assert_allclose(np.array(conv1["attention"]["pi"], dtype=np.float32), result.as_numpy("attention/conv1"))


def test_statistics(client):
    before = client.get_inference_statistics(MODEL)["model_stats"][0]
    client.infer(MODEL, [infer_input(digits_batch(3, seed=8), binary=True)])
    after = client.get_inference_statistics(MODEL)["model_stats"][0]
    assert after["name"] == MODEL and after["version"] == "1"
    assert after["inference_count"] == before["inference_count"] + 3
    stats = after["inference_stats"]
    assert stats["success"]["count"] == before["inference_stats"]["success"]["count"] + 1
    assert stats["success"]["ns"] > 0 and stats["compute_infer"]["ns"] > 0
    assert any(b["batch_size"] == 3 for b in after["batch_stats"])
    everything = client.get_inference_statistics()
    assert MODEL in [m["name"] for m in everything["model_stats"]]


def test_client_sees_server_errors(client):
    i = httpclient.InferInput("input", [1, 1, 8, 7], "FP32")
    i.set_data_from_numpy(np.zeros((1, 1, 8, 7), dtype=np.float32))
    with pytest.raises(InferenceServerException, match=r"does not match"):
        client.infer(MODEL, [i])
    with pytest.raises(InferenceServerException, match="no output"):
        client.infer(MODEL, [infer_input(digits_batch(1), True)], outputs=[httpclient.InferRequestedOutput("logits")])


def test_request_timeout_is_in_microseconds(client):
    # tritonclient's infer(timeout=N) sends the request parameter "timeout", in microseconds: ten
    # seconds leave plenty of time, one microsecond is over before the request can run.
    x = digits_batch(1, seed=11)
    result = client.infer(MODEL, [infer_input(x, binary=True)], timeout=10_000_000)
    np.testing.assert_array_equal(result.as_numpy("probabilities"), dyserve_run(MODEL, x))
    with pytest.raises(InferenceServerException) as failure:
        client.infer(MODEL, [infer_input(x, binary=True)], timeout=1)
    assert str(failure.value.status()) in ("503", "504"), failure.value
