"""The kserve SDK's InferenceRESTClient (V2 protocol) against `dyserve serve`: health, and infer()
with its own InferRequest, in JSON and with binary tensors, compared with `dyserve run`."""
import asyncio

import numpy as np
import pytest
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

from reference import digits_batch, dyserve_run

MODEL = "dy-digits"


def call(coroutine_function, *args, **kwargs):
    """Runs one client call on a client of its own (httpx's async client is bound to its loop)."""
    async def run():
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
        try:
            return await getattr(client, coroutine_function)(*args, **kwargs)
        finally:
            await client.close()
    return asyncio.run(run())


def test_health(server):
    assert call("is_server_live", server.base) is True
    assert call("is_server_ready", server.base) is True
    assert call("is_model_ready", server.base, MODEL) is True


@pytest.mark.parametrize("binary", [False, True])
def test_infer_with_infer_request(server, binary):
    x = digits_batch(3, seed=31)
    tensor = InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    request = InferRequest(model_name=MODEL, infer_inputs=[tensor], request_id=f"kserve-{binary}")
    response = call("infer", server.base, request, model_name=MODEL)
    assert response.model_name == MODEL and response.id == f"kserve-{binary}"
    got = response.outputs[0].as_numpy()
    assert response.outputs[0].name == "probabilities" and got.shape == (3, 10)
    np.testing.assert_array_equal(got, dyserve_run(MODEL, x))


def test_a_disagreeing_model_name_is_refused(server):
    x = digits_batch(1, seed=32)
    tensor = InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=False)
    request = InferRequest(model_name="another-model", infer_inputs=[tensor])
    with pytest.raises(Exception, match="does not match"):
        call("infer", server.base, request, model_name=MODEL)
