//! The weights loader on arbitrary bytes: it must return Ok or Err, never panic, and never accept
//! a model with non-finite values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(loaded) = vae::weights::load_vae(bytes, &candle_core::Device::Cpu) {
        for (name, t) in loaded.vae.named_parameters() {
            // Value by value: a reduction like `max` skips NaN.
            let values = t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("a loaded tensor");
            assert!(values.iter().all(|v| v.is_finite()), "{name} accepted with non-finite values");
        }
    }
});
