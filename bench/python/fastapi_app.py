"""The FastAPI + uvicorn + torch peer: an async endpoint that reads the body, runs the model in
Starlette's thread pool (so the event loop keeps serving), and answers OIP JSON or binary.

Run: BENCH_MODEL_DIR=... /usr/bin/python3 -m uvicorn fastapi_app:app --port N --log-level warning
"""
import os

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

import oip_torch

MODEL_DIR = os.environ["BENCH_MODEL_DIR"]
MODEL_NAME = os.path.basename(os.path.normpath(MODEL_DIR))
model = oip_torch.load_model(MODEL_DIR)
app = FastAPI()


@app.get("/v2/health/ready")
def ready() -> dict:
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    body = await request.body()
    header_length = oip_torch.header_length_of(request.headers.get("inference-header-content-length"))
    array, binary = oip_torch.decode(body, header_length)
    output = await run_in_threadpool(oip_torch.infer, model, array)
    payload, headers = oip_torch.encode(MODEL_NAME, output, binary)
    return Response(content=payload, headers=headers)
