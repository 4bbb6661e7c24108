"""The Flask + gunicorn + torch peer: gunicorn's sync workers, one request at a time each.

Run: BENCH_MODEL_DIR=... /usr/bin/python3 -m gunicorn -w 2 -b 127.0.0.1:N flask_app:app
"""
import os

from flask import Flask, Response, request

import oip_torch

MODEL_DIR = os.environ["BENCH_MODEL_DIR"]
MODEL_NAME = os.path.basename(os.path.normpath(MODEL_DIR))
model = oip_torch.load_model(MODEL_DIR)
app = Flask(__name__)


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/v2/models/<name>/infer")
def infer(name: str):
    header_length = oip_torch.header_length_of(request.headers.get("inference-header-content-length"))
    array, binary = oip_torch.decode(request.get_data(), header_length)
    payload, headers = oip_torch.encode(MODEL_NAME, oip_torch.infer(model, array), binary)
    return Response(payload, headers=headers)
