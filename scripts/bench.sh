#!/usr/bin/env bash
# The benchmark (not part of the tests): builds, then measures the app in headless Chromium
# against TensorFlow.js and the native trainer against PyTorch; prints a table and writes
# bench/results.json. With --torch it first sets up bench/venv with PyTorch (a large download).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
./scripts/build.sh
if [ "${1:-}" = "--torch" ] && [ ! -x bench/venv/bin/python ]; then
  python3 -m venv bench/venv
  bench/venv/bin/pip install torch numpy safetensors
fi
node bench/run.js "${RUNS:-25}"
node bench/pictures.js 10000   # your own pictures: loading, and in-tab training on 32×32 colour beside TF.js
