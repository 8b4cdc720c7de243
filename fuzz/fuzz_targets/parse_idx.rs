//! The IDX reader (raw or gzip) on arbitrary bytes: Ok or Err, never a panic, and what it accepts
//! has exactly as many bytes as its dimensions say.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(idx) = vae::data::parse_idx(bytes) {
        assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
    }
    let labels = [0u8, 0, 8, 1, 0, 0, 0, 1, 3];
    let _ = vae::data::Dataset::from_idx(bytes, &labels);
});
