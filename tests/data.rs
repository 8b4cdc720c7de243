//! The IDX reader and the in-memory dataset: real MNIST files (raw and gzip), Fashion-MNIST when
//! installed, and an error (never a panic) for every kind of malformed file.

mod common;

use std::io::Write;

use candle_core::Device;
use flate2::{write::GzEncoder, Compression};
use vae::data::{parse_idx, Dataset, MAX_IDX_ELEMENTS};
use vae::ImageShape;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An IDX file of unsigned bytes with the given dimensions and data, built by hand.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// A valid images file of `n` 28×28 images and a labels file of `m` labels.
fn images(n: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..n * 784).map(|i| (i * 7 % 256) as u8).collect();
    idx(&[n as u32, 28, 28], &data)
}

fn labels(m: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..m).map(|i| (i % 10) as u8).collect();
    idx(&[m as u32], &data)
}

/// Parses `bytes`, requiring an `Err` (a panic or an `Ok` fails the test, naming `case`), whose
/// message contains `needle`.
fn assert_idx_error(case: &str, bytes: &[u8], needle: &str) {
    let outcome = std::panic::catch_unwind(|| parse_idx(bytes).map(|_| ()).map_err(|e| e.to_string()));
    match outcome {
        Err(_) => panic!("{case}: parse_idx panicked"),
        Ok(Ok(())) => panic!("{case}: parse_idx accepted a malformed file"),
        Ok(Err(message)) => assert!(message.contains(needle), "{case}: error {message:?} does not mention {needle:?}"),
    }
}

/// Like [`assert_idx_error`] for a pair of files given to `Dataset::from_idx`.
fn assert_dataset_error(case: &str, images: &[u8], labels: &[u8], needle: &str) {
    let outcome = std::panic::catch_unwind(|| Dataset::from_idx(images, labels).map(|_| ()).map_err(|e| e.to_string()));
    match outcome {
        Err(_) => panic!("{case}: Dataset::from_idx panicked"),
        Ok(Ok(())) => panic!("{case}: Dataset::from_idx accepted bad files"),
        Ok(Err(message)) => assert!(message.contains(needle), "{case}: error {message:?} does not mention {needle:?}"),
    }
}

/// MNIST's test files load as 10,000 images of 28×28 with labels 0–9, every digit present (the
/// first test digit is the well-known 7), and `batch` scales the file's bytes by 1/255 into [0, 1].
#[test]
fn mnist_test_set_loads() {
    let image_bytes = common::mnist_bytes("t10k-images-idx3-ubyte");
    let label_bytes = common::mnist_bytes("t10k-labels-idx1-ubyte");
    let parsed = parse_idx(&image_bytes).unwrap();
    assert_eq!(parsed.dims, vec![10_000, 28, 28]);
    assert_eq!(parse_idx(&label_bytes).unwrap().dims, vec![10_000]);

    let data = Dataset::from_idx(&image_bytes, &label_bytes).unwrap();
    assert_eq!(data.len(), 10_000);
    let mut counts = [0usize; 10];
    for &l in data.labels() {
        assert!(l <= 9, "label {l}");
        counts[l as usize] += 1;
    }
    assert!(counts.iter().all(|&c| (800..=1200).contains(&c)), "digit counts {counts:?}");
    assert_eq!(&data.labels()[..5], &[7, 2, 1, 0, 4], "the first MNIST test labels");

    // Images 0, 1234 and 9999 against the file's bytes at their offsets (16-byte header).
    let picks = [0usize, 1234, 9999];
    let batch = data.batch(&picks, &Device::Cpu).unwrap();
    assert_eq!(batch.dims(), &[3, 784]);
    let batch = batch.to_vec2::<f32>().unwrap();
    for (row, &i) in picks.iter().enumerate() {
        let raw = &image_bytes[16 + i * 784..16 + (i + 1) * 784];
        assert_eq!(data.image(i), raw);
        for (&v, &p) in batch[row].iter().zip(raw) {
            assert_eq!(v, p as f32 / 255.0);
        }
    }
    let all = data.range(0, 10_000, &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (lo, hi) = all.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0), "pixels span exactly [0, 1]");
    assert!(data.batch(&[10_000], &Device::Cpu).is_err(), "out-of-range index is an error");
    assert_eq!(data.range(9_990, 100, &Device::Cpu).unwrap().dims(), &[10, 784], "range clips at the end");
}

/// The first training label is the well-known 5, and the set has 60,000 images.
#[test]
fn mnist_training_set_loads() {
    let data = common::mnist_train();
    assert_eq!(data.len(), 60_000);
    assert_eq!(&data.labels()[..4], &[5, 0, 4, 1]);
    assert_eq!(data.take(2000).len(), 2000);
    assert_eq!(data.take(2000).image(1999), data.image(1999));
}

/// The same bytes gzip-compressed parse to the identical dimensions and data.
#[test]
fn gzip_files_parse_identically() {
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        let raw = common::mnist_bytes(name);
        let (a, b) = (parse_idx(&raw).unwrap(), parse_idx(&gzip(&raw)).unwrap());
        assert_eq!(a.dims, b.dims, "{name}");
        assert!(a.data == b.data, "{name}: gzip data differ");
    }
    let data =
        Dataset::from_idx(&gzip(&common::mnist_bytes("t10k-images-idx3-ubyte")), &common::mnist_bytes("t10k-labels-idx1-ubyte")).unwrap();
    assert_eq!(data.len(), 10_000);
}

/// Malformed headers and lengths are errors naming the problem.
#[test]
fn malformed_idx_files_are_errors() {
    let good = images(2);
    assert_eq!(parse_idx(&good).unwrap().dims, vec![2, 28, 28], "the base file is valid");

    assert_idx_error("empty", &[], "too short");
    assert_idx_error("3 bytes", &[0, 0, 8], "too short");
    let mut bad = good.clone();
    bad[0] = 0x01;
    assert_idx_error("bad magic byte 0", &bad, "magic");
    let mut bad = good.clone();
    bad[1] = 0x08;
    assert_idx_error("bad magic byte 1", &bad, "magic");
    for ty in [0x09u8, 0x0B, 0x0C, 0x0D, 0x0E, 0x00] {
        let mut bad = good.clone();
        bad[2] = ty;
        assert_idx_error(&format!("type 0x{ty:02x}"), &bad, "type");
    }
    assert_idx_error("zero dimensions", &[0, 0, 8, 0, 1, 2, 3], "dimensions");
    assert_idx_error("5 dimensions", &idx(&[1, 1, 1, 1, 1], &[0]), "dimensions");
    assert_idx_error("255 dimensions", &[0, 0, 8, 255, 0, 0, 0, 1], "dimensions");
    assert_idx_error("truncated header", &good[..4 + 4 * 3 - 1], "header");
    assert_idx_error("header only partly there", &good[..6], "header");
    assert_idx_error("truncated data", &good[..good.len() - 1], "data bytes");
    assert_idx_error("no data", &good[..16], "data bytes");
    let mut long = good.clone();
    long.push(0);
    assert_idx_error("one trailing byte", &long, "data bytes");
    long.extend_from_slice(&[0; 1000]);
    assert_idx_error("many trailing bytes", &long, "data bytes");

    // Dimensions whose product overflows usize, or exceeds the bound, are refused before allocating.
    assert_idx_error("overflowing product", &idx(&[u32::MAX; 4], &[]), "exceed");
    assert_idx_error("overflowing product with data", &idx(&[u32::MAX; 4], &[0; 64]), "exceed");
    let too_many = (MAX_IDX_ELEMENTS / 784 + 1) as u32;
    assert_idx_error("above the element bound", &idx(&[too_many, 28, 28], &[]), "exceed");
    // A zero dimension is a valid, empty file.
    assert_eq!(parse_idx(&idx(&[0, 28, 28], &[])).unwrap().data.len(), 0);
}

/// Corrupt or truncated gzip streams are errors, as is a gzip file holding a malformed IDX file.
#[test]
fn corrupt_gzip_is_an_error() {
    let compressed = gzip(&images(3));
    assert_eq!(parse_idx(&compressed).unwrap().dims, vec![3, 28, 28], "the base file is valid");

    assert_idx_error("gzip magic then garbage", &[0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "gzip");
    assert_idx_error("gzip magic only", &[0x1f, 0x8b], "gzip");
    assert_idx_error("truncated gzip", &compressed[..compressed.len() / 2], "gzip");
    assert_idx_error("gzip missing its trailer", &compressed[..compressed.len() - 4], "gzip");
    let mut flipped = compressed.clone();
    let n = flipped.len();
    flipped[n - 6] ^= 0xff; // the CRC-32 in the trailer
    assert_idx_error("bad gzip checksum", &flipped, "gzip");
    let mut flipped = compressed.clone();
    for b in &mut flipped[12..n - 8] {
        *b ^= 0x5a;
    }
    let outcome = std::panic::catch_unwind(|| parse_idx(&flipped).map(|_| ()));
    assert!(matches!(outcome, Ok(Err(_))), "scrambled deflate data must be an error, not a panic or Ok");

    let mut truncated_inside = images(3);
    truncated_inside.pop();
    assert_idx_error("gzip of a truncated IDX", &gzip(&truncated_inside), "data bytes");
}

/// Image/label files that disagree with each other or with 28×28 are errors.
#[test]
fn inconsistent_image_and_label_files_are_errors() {
    assert_eq!(Dataset::from_idx(&images(3), &labels(3)).unwrap().len(), 3, "the base files are valid");
    assert_dataset_error("3 images, 4 labels", &images(3), &labels(4), "3 images but 4 labels");
    assert_dataset_error("4 images, 3 labels", &images(4), &labels(3), "4 images but 3 labels");
    // Other sides are other image shapes (the shape is the dataset's), which a model of another shape refuses.
    let wide = Dataset::from_idx(&idx(&[2, 27, 28], &[0; 2 * 27 * 28]), &labels(2)).unwrap();
    assert_eq!(wide.shape(), ImageShape::new(1, 27, 28).unwrap());
    assert!(wide.check_shape(ImageShape::MNIST).unwrap_err().to_string().contains("1×27×28"));
    assert_dataset_error("images 0 wide", &idx(&[2, 28, 0], &[]), &labels(2), "out of range");
    assert_dataset_error("images flat [N, 784]", &idx(&[2, 784], &[0; 2 * 784]), &labels(2), "expected [N, height, width]");
    assert_dataset_error("images [N, 28, 28, 1]", &idx(&[2, 28, 28, 1], &[0; 2 * 784]), &labels(2), "expected [N, height, width]");
    assert_dataset_error("labels 2-D", &images(2), &idx(&[2, 1], &[0, 1]), "expected [N]");
    assert_dataset_error("files swapped", &labels(2), &images(2), "images file has dimensions");
    assert_dataset_error("corrupt images", &images(2)[..100], &labels(2), "images file:");
    assert_dataset_error("corrupt labels", &images(2), &[0x1f, 0x8b, 0, 0], "labels file:");
    assert!(Dataset::from_pixels(ImageShape::MNIST, vec![0; 784 * 2], vec![0; 3]).is_err());
    assert!(Dataset::from_pixels(ImageShape::MNIST, vec![0; 784 * 2 + 1], vec![0; 2]).is_err());
}

/// Fashion-MNIST's gzip test files, where installed, load through the same reader.
#[test]
fn fashion_mnist_loads_if_installed() {
    let dir = std::path::Path::new("/usr/share/datasets/fashion-mnist");
    let (Ok(images), Ok(labels)) =
        (std::fs::read(dir.join("t10k-images-idx3-ubyte.gz")), std::fs::read(dir.join("t10k-labels-idx1-ubyte.gz")))
    else {
        eprintln!("Fashion-MNIST not installed at {}; skipped", dir.display());
        return;
    };
    let data = Dataset::from_idx(&images, &labels).unwrap();
    assert_eq!(data.len(), 10_000);
    let mut counts = [0usize; 10];
    for &l in data.labels() {
        assert!(l <= 9);
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [1000; 10], "Fashion-MNIST's test set is balanced");
}
