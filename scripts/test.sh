#!/usr/bin/env bash
# Sets everything up (wasm target, wasm-bindgen-cli, npm packages, Chromium) and runs every test:
# the native Rust suite, then the browser suite in headless Chromium against the real wasm build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --profile wasm -- -D warnings
./scripts/build.sh --no-native
cargo test --release   # also builds target/release/vae, which the browser tests serve the app with
node --test --test-concurrency=1 tests/e2e/
