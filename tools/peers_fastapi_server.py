"""The Python peer of `tools/peers_served.py`: FastAPI + ONNX Runtime serving ONNX exports over HTTP.

    PEERS_ONNX="mobilenetv2=/tmp/x/mobilenetv2.onnx,dy-mobilenetv2=/tmp/x/dy-mobilenetv2.onnx" \
    PEERS_THREADS=2 python -m uvicorn peers_fastapi_server:app --app-dir tools --workers 1

`POST /infer?model=NAME` takes what dyserve's `/infer` takes for raw bodies: little-endian FP32 bytes
with `Content-Type: application/octet-stream` and the shape in `X-Tensor-Shape` (`1,3,224,224`), runs
the model's `output` and answers `{"model": NAME, "outputs": [{"name": "output", "shape": [...], "datatype": "FP32", "data": [...]}]}`
in JSON, the shape of dyserve's answer. `GET /healthz` answers once every session is built. One worker process,
one ONNX Runtime session per model with `PEERS_THREADS` intra-op threads: the smallest honest server a
Python team would write around the same export.
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse


def _sessions() -> dict:
    threads = int(os.environ.get("PEERS_THREADS", "2"))
    sessions = {}
    for entry in os.environ["PEERS_ONNX"].split(","):
        name, path = entry.split("=", 1)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return sessions


SESSIONS = _sessions()
app = FastAPI()


@app.get("/healthz")
def healthz():
    return {"status": "ok", "models": sorted(SESSIONS)}


@app.post("/infer")
async def infer(request: Request, model: str):
    session = SESSIONS.get(model)
    if session is None:
        raise HTTPException(status_code=404, detail=f"no model {model!r}")
    if request.headers.get("content-type") != "application/octet-stream":
        raise HTTPException(status_code=415, detail="send application/octet-stream with X-Tensor-Shape")
    try:
        shape = [int(d) for d in request.headers["x-tensor-shape"].split(",")]
    except (KeyError, ValueError):
        raise HTTPException(status_code=400, detail="X-Tensor-Shape must be comma-separated integers")
    body = await request.body()
    if len(body) != 4 * int(np.prod(shape)):
        raise HTTPException(status_code=400, detail=f"{len(body)} bytes do not hold FP32 {shape}")
    x = np.frombuffer(body, dtype="<f4").reshape(shape)
    (y,) = session.run(["output"], {"input": x})
    return JSONResponse({"model": model, "outputs": [{"name": "output", "shape": list(y.shape), "datatype": "FP32",
                                                      "data": y.ravel().tolist()}]})
