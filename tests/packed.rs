//! The packed inference model (src/packed.rs) against the model's own encoder and decoder.

mod common;

use candle_core::{Device, Tensor};
use vae::grid::{decode_flat, grid_latents, quantile_axis, tile_rgba};
use vae::packed::{sigmoid, PackedVae};
use vae::rng::Rng;
use vae::weights::load_vae;
use vae::ImageShape;

fn shipped(file: &str) -> vae::Vae {
    load_vae(&common::shipped_model_bytes(file), &Device::Cpu).expect("shipped model loads").vae
}

#[test]
fn sigmoid_is_within_3e_7_of_the_exact_value() {
    let mut worst = 0f64;
    for i in -200_000..=200_000 {
        let x = i as f32 * 5e-4; // −100 … 100
        let exact = 1.0 / (1.0 + (-(x as f64)).exp());
        worst = worst.max((sigmoid(x) as f64 - exact).abs());
    }
    assert!(worst < 3e-7, "largest error {worst}");
    assert_eq!(sigmoid(f32::INFINITY), 1.0);
    assert!(sigmoid(f32::NEG_INFINITY) < 1e-37);
}

/// Every batch size around the 4-row blocks, plain and conditional models.
#[test]
fn decodes_what_the_model_decodes() {
    for (file, labelled) in [("mnist-2d.safetensors", false), ("mnist-16d.safetensors", false), ("cvae-mnist-8d.safetensors", true)] {
        let vae = shipped(file);
        let packed = PackedVae::new(&vae).unwrap();
        let l = vae.config().latent;
        for b in [1, 2, 3, 4, 5, 7, 8, 33] {
            let z: Vec<f32> = Rng::new(b as u64).normal((b, l), &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let labels: Option<Vec<u8>> = labelled.then(|| (0..b).map(|i| (i % 10) as u8).collect());
            let expected = decode_flat(&vae, &z, labels.as_deref()).unwrap();
            let got = packed.decode(&z, labels.as_deref()).unwrap();
            assert_eq!(got.len(), b * 784);
            let worst = got.iter().zip(&expected).map(|(a, e)| (a - e).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-5, "{file}, {b} points: differs by {worst}");
            let logits = packed.logits(&z, labels.as_deref()).unwrap();
            let zt = Tensor::from_slice(&z, (b, l), &Device::Cpu).unwrap();
            let y = labels.as_ref().map(|ls| vae::model::one_hot(ls, 10, &Device::Cpu).unwrap());
            let reference: Vec<f32> = vae.decode_logits(&zt, y.as_ref()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let worst = logits.iter().zip(&reference).map(|(a, e)| (a - e).abs() / e.abs().max(1.0)).fold(0f32, f32::max);
            assert!(worst < 1e-5, "{file}, {b} points: logits differ by {worst} (relative)");
        }
    }
}

/// Real digits (mostly blank pixels, which the packed product skips), batch sizes around the
/// 4-row blocks, plain and conditional models.
#[test]
fn encodes_what_the_model_encodes() {
    let data = common::mnist_test().take(33);
    for (file, labelled) in [("mnist-2d.safetensors", false), ("mnist-16d.safetensors", false), ("cvae-mnist-8d.safetensors", true)] {
        let vae = shipped(file);
        let packed = PackedVae::new(&vae).unwrap();
        let l = vae.config().latent;
        for b in [1, 3, 4, 5, 33] {
            let pixels = data.pixels_f32(0..b);
            let labels = labelled.then(|| &data.labels()[..b]);
            let got = packed.encode(&pixels, labels).unwrap();
            let x = Tensor::from_slice(&pixels, (b, 784), &Device::Cpu).unwrap();
            let y = labels.map(|ls| vae::model::one_hot(ls, 10, &Device::Cpu).unwrap());
            let (mu, log_var) = vae.encode(&x, y.as_ref()).unwrap();
            let expected: Vec<f32> = Tensor::cat(&[mu, log_var], 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(got.len(), b * 2 * l);
            let worst = got.iter().zip(&expected).map(|(a, e)| (a - e).abs() / e.abs().max(1.0)).fold(0f32, f32::max);
            assert!(worst < 1e-5, "{file}, {b} images: mu/log_var differ by {worst} (relative)");
        }
    }
}

#[test]
fn the_grid_tiles_match_decode_then_tile() {
    let vae = shipped("mnist-2d.safetensors");
    let packed = PackedVae::new(&vae).unwrap();
    let xs = quantile_axis(20);
    let z = grid_latents(&xs, &xs, (0, 1), &[0.0, 0.0]);
    let fast = tile_rgba(&packed.decode(&z, None).unwrap(), ImageShape::MNIST, 20, 20);
    let reference = tile_rgba(&decode_flat(&vae, &z, None).unwrap(), ImageShape::MNIST, 20, 20);
    assert_eq!(fast.len(), 560 * 560 * 4);
    let off_by_one = fast.iter().zip(&reference).filter(|(a, b)| a != b).count();
    assert!(fast.iter().zip(&reference).all(|(a, b)| a.abs_diff(*b) <= 1), "no byte differs by more than 1");
    assert!(off_by_one < fast.len() / 1000, "{off_by_one} bytes differ by 1 (float rounding at .5 boundaries)");
    assert!(fast.chunks_exact(4).all(|px| px[3] == 255 && px[0] == px[1] && px[1] == px[2]), "opaque grey");
}

#[test]
fn refuses_inputs_that_do_not_fit() {
    let plain = PackedVae::new(&shipped("mnist-2d.safetensors")).unwrap();
    assert!(plain.decode(&[0.0; 3], None).unwrap_err().to_string().contains("whole number"));
    assert!(plain.decode(&[], None).unwrap_err().to_string().contains("whole number"));
    assert!(plain.encode(&[0.0; 700], None).unwrap_err().to_string().contains("whole number of 784"));
    assert!(plain.decode(&[0.0; 2], Some(&[1])).unwrap_err().to_string().contains("not conditional"));
    let conditional = PackedVae::new(&shipped("cvae-mnist-8d.safetensors")).unwrap();
    assert!(conditional.decode(&[0.0; 8], None).unwrap_err().to_string().contains("needs a label"));
    assert!(conditional.decode(&[0.0; 8], Some(&[10])).unwrap_err().to_string().contains("out of range"));
    assert!(conditional.decode(&[0.0; 8], Some(&[1, 2])).unwrap_err().to_string().contains("labels for 1"));
}

/// The conv VAE's inference (src/conv_forward.rs on channels-last buffers) against its candle
/// layers: the shipped conv models on real digits and random points, and colour and conditional
/// conv models of another shape at random initial weights.
#[test]
fn conv_inference_matches_the_candle_layers() {
    let relative = |got: &[f32], expected: &[f32]| {
        assert_eq!(got.len(), expected.len());
        got.iter().zip(expected).map(|(a, e)| (a - e).abs() / e.abs().max(1.0)).fold(0f32, f32::max)
    };
    let colour = ImageShape::new(3, 12, 16).unwrap();
    let mut models = vec![(shipped("conv-mnist-16d.safetensors"), 0), (shipped("conv-mnist-2d.safetensors"), 0)];
    for classes in [0, 3] {
        let config = vae::VaeConfig::conv(colour, 4, classes);
        let varmap = vae::weights::init_varmap(config, &mut Rng::new(9 + classes as u64), &Device::Cpu).unwrap();
        let vb = candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &Device::Cpu);
        models.push((vae::Vae::new(vb, config).unwrap(), classes));
    }
    let digits = common::mnist_test().take(33);
    for (vae, classes) in &models {
        let packed = PackedVae::new(vae).unwrap();
        let (l, p) = (vae.config().latent, vae.pixels());
        let what = vae.config().describe();
        for b in [1, 3, 33] {
            let labels: Option<Vec<u8>> = (*classes > 0).then(|| (0..b).map(|i| (i % classes) as u8).collect());
            let y = labels.as_ref().map(|ls| vae::model::one_hot(ls, *classes, &Device::Cpu).unwrap());
            let z: Vec<f32> = Rng::new(b as u64).normal((b, l), &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let zt = Tensor::from_slice(&z, (b, l), &Device::Cpu).unwrap();
            let reference: Vec<f32> = vae.decode_logits(&zt, y.as_ref()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let worst = relative(&packed.logits(&z, labels.as_deref()).unwrap(), &reference);
            assert!(worst < 1e-5, "{what}, {b} points: logits differ by {worst} (relative)");
            let pixels = if p == 784 {
                digits.pixels_f32(0..b)
            } else {
                let u: Vec<f32> = Rng::new(b as u64 + 100).uniform(b * p, 1.0, &Device::Cpu).unwrap().to_vec1().unwrap();
                u.into_iter().map(|v| v.max(0.0)).collect() // half the pixels blank
            };
            let x = Tensor::from_slice(&pixels, (b, p), &Device::Cpu).unwrap();
            let (mu, log_var) = vae.encode(&x, y.as_ref()).unwrap();
            let expected: Vec<f32> = Tensor::cat(&[mu, log_var], 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let worst = relative(&packed.encode(&pixels, labels.as_deref()).unwrap(), &expected);
            assert!(worst < 1e-5, "{what}, {b} images: mu/log_var differ by {worst} (relative)");
        }
    }
}
