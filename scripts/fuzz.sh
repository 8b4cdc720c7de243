#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of the weights loader and the IDX reader, both
# at once, SECONDS each (default 600). Crashes land in fuzz/artifacts/. Stable Rust runs cargo-fuzz
# with RUSTC_BOOTSTRAP=1 (it needs the sanitizer flags of nightly).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O load_weights
cargo fuzz build -O parse_idx
for target in load_weights parse_idx; do
  cargo fuzz run -O "$target" -- -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
    > "target/$target.log" 2>&1 &
done
wait
for target in load_weights parse_idx; do
  echo "== $target"
  grep -E "stat::number_of_executed_units|Done|ERROR|crash" "target/$target.log" || tail -5 "target/$target.log"
done
