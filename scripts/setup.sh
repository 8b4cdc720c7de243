#!/usr/bin/env bash
# Installs what the project needs and is missing: the wasm target, wasm-bindgen-cli at exactly the
# crate's version, npm packages, Debian's Fashion-MNIST (the app ships Fashion models) and, with
# --browser, Debian's Chromium and Firefox (with geckodriver) for the browser tests. Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (about 6 minutes, once)"
  cargo install wasm-bindgen-cli --version "$want"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing Debian packages: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

missing=()
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
if [ "${1:-}" = "--browser" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
  [ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
fi
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# Firefox's WebDriver, for the Firefox browser tests (playwright-core cannot drive Debian's Firefox).
if [ "${1:-}" = "--browser" ] && ! command -v geckodriver >/dev/null; then
  say "installing geckodriver (about 3 minutes, once)"
  cargo install geckodriver
fi
