#!/usr/bin/env bash
# The benchmark (not part of the tests): builds, then measures the app in headless Chromium against
# TensorFlow.js and onnxruntime-web, and the native trainer against PyTorch; prints a table and
# writes bench/results.json. With --torch it also sets up PyTorch in bench/venv (a large download).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
./scripts/build.sh
# bench/venv: the Python `onnx` package writes the ONNX graphs onnxruntime-web runs (small);
# PyTorch (large) only with --torch.
[ -x bench/venv/bin/python ] || python3 -m venv bench/venv
bench/venv/bin/python -c 'import onnx, numpy, safetensors' 2>/dev/null || bench/venv/bin/pip install -q onnx numpy safetensors
if [ "${1:-}" = "--torch" ]; then
  bench/venv/bin/python -c 'import torch' 2>/dev/null || bench/venv/bin/pip install torch
fi
node bench/run.js "${RUNS:-25}"
node bench/pictures.js 10000   # your own pictures: loading, and in-tab training on 32×32 colour beside TF.js
