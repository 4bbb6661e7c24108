#!/usr/bin/env bash
# Installs what `npm run bench` needs beyond npm, through Debian's apt. Idempotent.
#   wrk: the load generator for every target.
#   python3-torch, python3-torchvision, python3-onnx: export mobilenet_v2/resnet18 (random weights).
#   python3-fastapi, python3-uvicorn, python3-flask, gunicorn: the torch peers.
#   nginx-light: a proxy written in C, the floor under the gateway's CPU per request
#     (bench/gateway-overhead.ts).
set -euo pipefail

PYTHON=/usr/bin/python3
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
for pkg in torch:python3-torch torchvision:python3-torchvision onnx:python3-onnx numpy:python3-numpy \
  fastapi:python3-fastapi uvicorn:python3-uvicorn flask:python3-flask gunicorn:gunicorn; do
  module=${pkg%%:*}
  [ -x "$PYTHON" ] && "$PYTHON" -c "import $module" >/dev/null 2>&1 || need+=("${pkg#*:}")
done

# python3-torch is large: about 1 GB with its libraries.
bash "$(dirname "$0")/apt-install.sh" bench-deps ${need[@]+"${need[@]}"}
