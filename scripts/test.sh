#!/usr/bin/env bash
# Sets everything up (wasm target, wasm-bindgen-cli, npm packages, Chromium) and runs every test:
# the native Rust suite, then the browser suite in headless Chromium against the real wasm build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --profile wasm -- -D warnings
# The relaxed-SIMD build's own code (src/relaxed_gemm.rs), with scripts/build.sh's flags and target directory.
CARGO_TARGET_DIR=target/relaxed CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  cargo clippy --lib --target wasm32-unknown-unknown --profile wasm -- -D warnings
./scripts/build.sh --no-native
cargo test --release   # also builds target/release/vae, which the browser tests serve the app with
node --test --test-concurrency=1 tests/e2e/
