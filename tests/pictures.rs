//! Your own pictures on the command line (`vae train --images`, `vae eval --images`): a folder of
//! PNGs written from MNIST digits gives exactly the IDX pixels and labels, bad files are skipped
//! with their reasons while the rest load, and a colour model trained on a folder records its
//! shape and label names.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use vae::data::Dataset;
use vae::rng::Rng;
use vae::{train, weights};

fn vae(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vae")).args(args).env("RUST_BACKTRACE", "1").output().expect("vae runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vae-pictures-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PNG of `width` × `height` pixels of `color` type (Grayscale: 1 byte a pixel, Rgba: 4).
fn png(pixels: &[u8], width: u32, height: u32, color: png::ColorType) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(pixels).unwrap();
    out
}

/// A valid PNG whose header says 20,000 × 20,000 (its one row of data is for 1 × 1).
fn huge_png_header() -> Vec<u8> {
    let mut bytes = png(&[0], 1, 1, png::ColorType::Grayscale);
    // IHDR's data starts at byte 16: width and height, big-endian; its CRC follows the 13 bytes.
    bytes[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

/// The first `n` MNIST test digits as `dir/<label>/<index>.png`, and the same images from the IDX
/// file in the order the folder lists them (by label folder, then by name).
fn write_digits(dir: &Path, n: usize) -> Dataset {
    let test = common::mnist_test().take(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| test.labels()[i]);
    for &i in &order {
        let folder = dir.join(test.labels()[i].to_string());
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{i:05}.png")), png(test.image(i), 28, 28, png::ColorType::Grayscale)).unwrap();
    }
    let pixels = order.iter().flat_map(|&i| test.image(i).iter().copied()).collect();
    Dataset::from_pixels(test.shape(), pixels, order.iter().map(|&i| test.labels()[i]).collect()).unwrap()
}

fn json_field(stdout: &str, key: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {stdout}"))
}

#[test]
fn a_folder_of_mnist_pngs_gives_the_idx_pixels_and_labels_and_bad_files_are_skipped() {
    let dir = fresh_dir("digits");
    let reference = write_digits(&dir, 300);
    // Bad files inside the label folders: each is skipped with its reason, the rest load.
    std::fs::write(dir.join("3/notes.txt"), "not a picture").unwrap();
    std::fs::write(dir.join("3/empty.png"), []).unwrap();
    let whole = std::fs::read(dir.join("7").read_dir().unwrap().next().unwrap().unwrap().path()).unwrap();
    std::fs::write(dir.join("7/truncated.png"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(dir.join("1/huge.png"), huge_png_header()).unwrap();

    // The conditional model reads the labels too: the same negative ELBO, to the last digit, as
    // the IDX images with their labels means the same pixels and the same labels.
    for model in ["mnist-16d.safetensors", "cvae-mnist-8d.safetensors"] {
        let path = common::models_dir().join(model);
        let (ok, stdout, stderr) = vae(&["eval", "--weights", path.to_str().unwrap(), "--images", dir.to_str().unwrap(), "--json"]);
        assert!(ok, "{model}: {stderr}");
        let loaded = weights::load_vae(&std::fs::read(&path).unwrap(), &Device::Cpu).unwrap();
        let expected = train::evaluate(&loaded.vae, &reference, &mut Rng::new(0)).unwrap();
        assert_eq!(json_field(&stdout, "n") as usize, 300, "{model}");
        let got = json_field(&stdout, "neg_elbo");
        assert!((got - expected.neg_elbo).abs() < 1e-9, "{model}: folder {got} vs IDX {}", expected.neg_elbo);
        assert!(stderr.starts_with("4 files skipped: "), "{stderr}");
        for reason in [
            "1/huge.png is 20000×20000, larger than",
            "3/empty.png is empty",
            "3/notes.txt is not an image",
            "7/truncated.png is corrupt or truncated",
        ] {
            assert!(stderr.contains(reason), "{reason:?} missing from {stderr}");
        }
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_colour_conv_model_trains_on_a_folder_and_records_its_shape_and_labels() {
    // Two labels of 40 × 30 RGBA pictures: red discs and blue bars on transparency.
    let dir = fresh_dir("shapes");
    for (label, count) in [("discs", 12), ("bars", 8)] {
        std::fs::create_dir_all(dir.join(label)).unwrap();
        for k in 0..count {
            let mut rgba = vec![0u8; 40 * 30 * 4];
            for y in 0..30 {
                for x in 0..40 {
                    let inside = if label == "discs" {
                        let (dx, dy) = (x as i32 - 20 - k % 5, y as i32 - 15);
                        dx * dx + dy * dy < 64 + 4 * k
                    } else {
                        (10 + k..16 + k).contains(&(x as i32))
                    };
                    if inside {
                        let px = &mut rgba[(y * 40 + x) * 4..][..4];
                        px.copy_from_slice(if label == "discs" { &[220, 30, 30, 255] } else { &[20, 40, 200, 255] });
                    }
                }
            }
            std::fs::write(dir.join(label).join(format!("{k}.png")), png(&rgba, 40, 30, png::ColorType::Rgba)).unwrap();
        }
    }
    let out = dir.join("model.safetensors");
    let (d, o) = (dir.to_str().unwrap(), out.to_str().unwrap());
    let (ok, stdout, stderr) = vae(&[
        "--threads",
        "1",
        "train",
        "--images",
        d,
        "--size",
        "16",
        "--colour",
        "--fit",
        "pad",
        "--arch",
        "conv",
        "--latent",
        "2",
        "--epochs",
        "2",
        "--batch",
        "8",
        "--conditional",
        "--out",
        o,
    ]);
    assert!(ok, "{stderr}");
    // 10% of 20 pictures, evenly through the set, are held out (and are the test set).
    assert!(
        stdout.contains("conv 2-D on 3×16×16") && stdout.contains("on 18 pictures from") && stdout.contains("(2 held out)"),
        "{stdout}"
    );
    let bytes = std::fs::read(&out).unwrap();
    let meta = weights::file_metadata(&bytes).unwrap();
    assert_eq!(meta["labels"], r#"["bars","discs"]"#);
    assert_eq!((meta["dataset"].as_str(), meta["fit"].as_str(), meta["invert"].as_str()), ("images", "pad", "false"));
    let loaded = weights::load_vae(&bytes, &Device::Cpu).unwrap();
    assert_eq!(loaded.vae.config().shape, vae::ImageShape { channels: 3, height: 16, width: 16 });
    assert_eq!(loaded.vae.config().classes, 2);
    // It reads the folder it was trained on (the model.safetensors file there is skipped).
    let (ok, stdout, stderr) = vae(&["eval", "--weights", o, "--images", d, "--fit", "pad", "--json"]);
    assert!(ok, "{stderr}");
    assert_eq!(json_field(&stdout, "n") as usize, 20);
    assert!(json_field(&stdout, "neg_elbo").is_finite());
    assert!(stderr.contains("model.safetensors is outside the label folders"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unusable_folders_and_options_fail_with_one_line() {
    let dir = fresh_dir("junk");
    std::fs::write(dir.join("notes.txt"), "hello").unwrap();
    let model = common::models_dir().join("mnist-2d.safetensors");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--images", "/nonexistent/folder", "--out", "/tmp/x.safetensors"], "is not a folder"),
        (
            vec!["train", "--images", dir.to_str().unwrap(), "--out", "/tmp/x.safetensors"],
            "has no usable picture (1 file skipped: notes.txt is not an image)",
        ),
        (vec!["train", "--images", dir.to_str().unwrap(), "--size", "17", "--out", "/tmp/x.safetensors"], "one of [16, 28, 32, 48, 64]"),
        (vec!["train", "--images", dir.to_str().unwrap(), "--background", "red", "--out", "/tmp/x.safetensors"], "RRGGBB"),
        (vec!["eval", "--weights", model.to_str().unwrap(), "--images", dir.to_str().unwrap()], "has no usable picture"),
    ];
    for (args, message) in cases {
        let (ok, _, stderr) = vae(&args);
        assert!(!ok, "{args:?} must fail");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("stack backtrace"), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
