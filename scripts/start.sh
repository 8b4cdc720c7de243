#!/usr/bin/env bash
# Sets everything up, builds, and serves the app on 127.0.0.1 (PORT, default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
exec target/release/vae serve --port "${PORT:-8080}"
