//! Property-based fuzzing of the two loaders a user can feed arbitrary bytes (10,000 cases each):
//! the safetensors weights loader and the IDX reader never panic, and whatever they accept is
//! consistent. The coverage-guided fuzzers in fuzz/ run the same entry points for longer.

use candle_core::Device;
use proptest::prelude::*;
use vae::data::{parse_idx, Dataset};
use vae::rng::Rng;
use vae::weights::{init_varmap, load_vae, save_vae, Metadata};
use vae::{Vae, VaeConfig};

const CASES: u32 = 10_000;

/// A valid small weights file (L=2, H=8).
fn valid_file() -> Vec<u8> {
    let device = Device::Cpu;
    let config = VaeConfig::new(2, 8);
    let varmap = init_varmap(config, &mut Rng::new(1), &device).unwrap();
    let vae = Vae::new(candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &device), config).unwrap();
    save_vae(&vae, &Metadata::new()).unwrap()
}

/// Whatever loads must be a consistent, finite model.
fn check_loaded(bytes: &[u8]) {
    if let Ok(loaded) = load_vae(bytes, &Device::Cpu) {
        for (name, t) in loaded.vae.named_parameters() {
            // Value by value: a reduction like `max` skips NaN.
            let values = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{name} accepted with non-finite values");
        }
    }
}

/// A safetensors file with the given JSON header and `data_len` zero bytes of data.
fn with_header(header: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn weights_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_loaded(&bytes);
    }

    #[test]
    fn weights_mutated_valid_file(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        header_bias in any::<bool>(),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = valid_file_cached().clone();
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for (at, value) in flips {
            // Half the cases aim at the 8-byte length and the JSON header, where parsing happens.
            let i = if header_bias { at.index(header_end) } else { at.index(bytes.len()) };
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        check_loaded(&bytes);
    }

    #[test]
    fn weights_crafted_headers(
        dtype in prop::sample::select(vec!["F32", "F16", "BF16", "F64", "I32", "U8", "BOOL", "XYZ"]),
        rows in prop::sample::select(vec![0u64, 1, 2, 4, 8, 784, 8193, u32::MAX as u64, u64::MAX / 2]),
        cols in prop::sample::select(vec![0u64, 1, 2, 8, 784, u64::MAX]),
        start in 0u64..64, len in 0u64..4096, data_len in 0usize..4096,
        name in prop::sample::select(vec!["encoder.0.weight", "encoder.2.weight", "decoder.0.weight", "x", ""]),
    ) {
        let header = format!(
            r#"{{"{name}":{{"dtype":"{dtype}","shape":[{rows},{cols}],"data_offsets":[{start},{}]}},"__metadata__":{{"a":"b"}}}}"#,
            start.saturating_add(len)
        );
        check_loaded(&with_header(&header, data_len));
    }

    #[test]
    fn idx_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(idx) = parse_idx(&bytes) {
            prop_assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
        }
    }

    #[test]
    fn idx_structured(
        type_byte in prop::sample::select(vec![0x08u8, 0x09, 0x0D, 0x00]),
        dims in proptest::collection::vec(prop::sample::select(vec![0u32, 1, 2, 3, 28, 60000, u32::MAX]), 0..6),
        body in 0usize..2048,
        gzip in any::<bool>(),
    ) {
        let mut bytes = vec![0, 0, type_byte, dims.len() as u8];
        for d in &dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.resize(bytes.len() + body, 7);
        if gzip {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&bytes).unwrap();
            bytes = enc.finish().unwrap();
        }
        if let Ok(idx) = parse_idx(&bytes) {
            prop_assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
            prop_assert!(idx.data.len() <= vae::data::MAX_IDX_ELEMENTS);
        }
        let labels = [0u8, 0, 8, 1, 0, 0, 0, 1, 5];
        let _ = Dataset::from_idx(&bytes, &labels);
    }
}

fn valid_file_cached() -> &'static Vec<u8> {
    static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    FILE.get_or_init(valid_file)
}

#[test]
fn the_valid_file_loads() {
    assert!(load_vae(valid_file_cached(), &Device::Cpu).is_ok());
}
