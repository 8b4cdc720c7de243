//! The convolutional VAE through the model seam: its gradient against finite differences, its
//! files (plain, conditional, colour and non-square) round-tripping with the architecture and
//! image shape read back from them, malformed conv files refused with a reason, data-parallel
//! steps equal to whole-batch steps, and training on real MNIST lowering the test loss.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use vae::data::Dataset;
use vae::gradient::{autograd_gradient, negative_elbo_gradient};
use vae::loss::negative_elbo_with_noise;
use vae::model::one_hot;
use vae::parallel::{self, Minibatch, PartGradient};
use vae::rng::Rng;
use vae::train::{evaluate, TrainConfig, Trainer};
use vae::weights::{load_vae, save_vae, Metadata};
use vae::{Arch, ImageShape, Vae, VaeConfig};

fn small(shape: ImageShape, latent: usize, classes: usize) -> VaeConfig {
    VaeConfig { shape, latent, classes, arch: Arch::Conv { c1: 3, c2: 4 } }
}

fn trainer(config: VaeConfig, batch: usize, seed: u64) -> Trainer {
    Trainer::new(TrainConfig { vae: config, beta: 1.0, learning_rate: 1e-3, batch_size: batch, seed }, &Device::Cpu).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Random images of `shape` in [0, 1] (a third of the pixels blank, like ink on paper).
fn images(n: usize, shape: ImageShape, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let values: Vec<f32> = (0..n * shape.pixels())
        .map(|_| {
            let u = rng.standard_normal().abs().min(1.0);
            if u < 0.4 {
                0.0
            } else {
                u
            }
        })
        .collect();
    Tensor::from_vec(values, (n, shape.pixels()), &Device::Cpu).unwrap()
}

/// The gradient candle's autograd gives the conv VAE equals central finite differences of the
/// same loss in float64 (an independent computation: only forward passes).
#[test]
fn conv_gradient_matches_finite_differences() {
    let shape = ImageShape::new(2, 8, 12).unwrap();
    for classes in [0, 3] {
        let config = small(shape, 2, classes);
        let f32_params = vae::weights::init_varmap(config, &mut Rng::new(5), &Device::Cpu).unwrap();
        let varmap = VarMap::new();
        for (name, var) in f32_params.data().lock().unwrap().iter() {
            let v = Var::from_tensor(&var.as_tensor().to_dtype(DType::F64).unwrap()).unwrap();
            varmap.data().lock().unwrap().insert(name.clone(), v);
        }
        let model = Vae::new(VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu), config).unwrap();
        let n = 3;
        let x = images(n, shape, 7).to_dtype(DType::F64).unwrap();
        let y = (classes > 0).then(|| one_hot(&[0, 2, 1], classes, &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap());
        let eps = Rng::new(8).normal((n, 2), &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap();
        let part = Minibatch { x: x.clone(), y: y.clone(), eps: eps.clone() };
        let beta = 2.0;
        let batch = 4; // a part of a step on 4 images
        let g = autograd_gradient(&model, &part, batch, beta).unwrap();
        let loss = || -> f64 {
            let t = negative_elbo_with_noise(&model, &x, y.as_ref(), &eps).unwrap();
            (t.total(beta).unwrap().sum_all().unwrap() / batch as f64).unwrap().to_scalar::<f64>().unwrap()
        };
        let vars = varmap.data().lock().unwrap().clone();
        assert_eq!(vars.len(), 12, "the conv VAE has 12 parameter tensors");
        for (name, var) in &vars {
            let grad: Vec<f64> =
                g.grads.get(var).unwrap_or_else(|| panic!("a gradient for {name}")).flatten_all().unwrap().to_vec1().unwrap();
            let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            for &i in &[0, base.len() / 2, base.len() - 1] {
                let h = 1e-5;
                let at = |delta: f64| {
                    let mut v = base.clone();
                    v[i] += delta;
                    var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
                    loss()
                };
                let numeric = (at(h) - at(-h)) / (2.0 * h);
                var.set(&Tensor::from_vec(base.clone(), var.shape(), &Device::Cpu).unwrap()).unwrap();
                assert!(
                    (numeric - grad[i]).abs() <= 1e-4 * numeric.abs().max(1.0),
                    "classes {classes}: d loss / d {name}[{i}]: autograd {}, finite differences {numeric}",
                    grad[i]
                );
            }
        }
    }
}

/// Files record the architecture and the image shape; loading reads them back and the model
/// computes exactly what it did before saving.
#[test]
fn conv_files_round_trip_with_their_shape() {
    for config in [
        VaeConfig::conv(ImageShape::MNIST, 16, 0),
        VaeConfig::conv(ImageShape::MNIST, 2, 10),
        small(ImageShape::new(3, 8, 12).unwrap(), 3, 0),
        small(ImageShape::new(1, 16, 16).unwrap(), 2, 4),
    ] {
        let t = trainer(config, 8, 1);
        let bytes = save_vae(t.vae(), &Metadata::new()).unwrap();
        let loaded = load_vae(&bytes, &Device::Cpu).unwrap_or_else(|e| panic!("{config:?}: {e}"));
        assert_eq!(loaded.vae.config(), config);
        assert_eq!(loaded.metadata.get("arch").map(String::as_str), Some("conv"));
        let x = images(4, config.shape, 2);
        let y = config.is_conditional().then(|| one_hot(&[0, 1, 1, 0], config.classes, &Device::Cpu).unwrap());
        let (a, _) = t.vae().encode(&x, y.as_ref()).unwrap();
        let (b, _) = loaded.vae.encode(&x, y.as_ref()).unwrap();
        assert_eq!(flat(&a), flat(&b), "{config:?}");
        let back = loaded.vae.decode(&b, y.as_ref()).unwrap();
        assert_eq!(back.dims(), [4, config.shape.pixels()]);
    }
}

/// A square single-channel conv file without metadata (as PyTorch writes it) has its side read
/// from the shapes; one whose features are not a square map needs the metadata and says so.
#[test]
fn conv_shape_comes_from_the_tensors_when_the_file_has_no_metadata() {
    let square = trainer(small(ImageShape::new(1, 16, 16).unwrap(), 2, 0), 8, 1);
    let params = square.vae().named_parameters();
    let bytes = safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
    assert_eq!(load_vae(&bytes, &Device::Cpu).unwrap().vae.config().shape, ImageShape::new(1, 16, 16).unwrap());

    let wide = trainer(small(ImageShape::new(1, 8, 12).unwrap(), 2, 0), 8, 1);
    let params = wide.vae().named_parameters();
    let bytes = safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
    let err = load_vae(&bytes, &Device::Cpu).err().expect("a non-square map without metadata is refused").to_string();
    assert!(err.contains("not a square map"), "{err}");
}

/// Malformed conv files are refused with the tensor that is wrong.
#[test]
fn malformed_conv_files_name_what_is_wrong() {
    let t = trainer(small(ImageShape::new(1, 8, 8).unwrap(), 2, 0), 8, 1);
    let params = t.vae().named_parameters();
    type Edit<'a> = &'a dyn Fn(&str, &Tensor) -> Option<(String, Tensor)>;
    let write = |edit: Edit| {
        let edited: Vec<(String, Tensor)> = params.iter().filter_map(|(n, t)| edit(n, t)).collect();
        let bytes = safetensors::tensor::serialize(edited.iter().map(|(n, t)| (n.as_str(), t)), None).unwrap();
        vae::error_message(load_vae(&bytes, &Device::Cpu).err().expect("refused"))
    };
    let renamed = write(&|n, t| Some((if n == "decoder.3.bias" { "decoder.4.bias".into() } else { n.into() }, t.clone())));
    assert!(renamed.contains("unexpected tensor `decoder.4.bias`"), "{renamed}");
    let missing = write(&|n, t| (n != "encoder.5.bias").then(|| (n.into(), t.clone())));
    assert!(missing.contains("missing tensor `encoder.5.bias`"), "{missing}");
    let kernel = write(&|n, t| {
        Some((n.into(), if n == "encoder.2.weight" { Tensor::zeros((4, 3, 3, 3), DType::F32, &Device::Cpu).unwrap() } else { t.clone() }))
    });
    assert!(kernel.contains("encoder.2.weight"), "{kernel}");
    let bias = write(&|n, t| {
        Some((n.into(), if n == "decoder.5.bias" { Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap() } else { t.clone() }))
    });
    assert!(bias.contains("decoder.5.bias") && bias.contains("[2]"), "{bias}");
    for message in [renamed, missing, kernel, bias] {
        assert!(!message.contains('\n'), "one line: {message}");
    }
}

/// A model refuses images of another shape, and a trainer refuses a dataset of another shape.
#[test]
fn shapes_that_do_not_match_are_refused() {
    let t = trainer(small(ImageShape::new(1, 8, 8).unwrap(), 2, 0), 8, 1);
    let err = t.vae().encode(&images(2, ImageShape::MNIST, 1), None).unwrap_err().to_string();
    assert!(err.contains("1×8×8"), "{err}");
    let mut t = t;
    let err = t.train_step(&common::mnist_train_first(16)).map(|_| ()).expect_err("refused").to_string();
    assert!(err.contains("1×28×28") && err.contains("1×8×8"), "{err}");
    assert!(VaeConfig::conv(ImageShape::new(1, 30, 30).unwrap(), 2, 0).check().is_err(), "sides must be divisible by 4");
}

/// Two parts' gradients, summed (the two-worker and multi-thread step), equal the whole batch's.
#[test]
fn conv_parts_sum_to_the_whole_batch() {
    let shape = ImageShape::MNIST;
    let t = trainer(small(shape, 3, 0), 16, 2);
    let batch = Minibatch { x: images(10, shape, 3), y: None, eps: Rng::new(4).normal((10, 3), &Device::Cpu).unwrap() };
    let whole = negative_elbo_gradient(t.vae(), &batch, 10, 1.0).unwrap();
    let mut total = PartGradient::default();
    for i in 0..2 {
        parallel::accumulate(&mut total, &negative_elbo_gradient(t.vae(), &batch.part(i, 2).unwrap(), 10, 1.0).unwrap(), t.params())
            .unwrap();
    }
    assert!((total.recon_sum - whole.recon_sum).abs() < 1e-3, "{} vs {}", total.recon_sum, whole.recon_sum);
    let (a, b) = (parallel::flatten(&total.grads, t.params()).unwrap(), parallel::flatten(&whole.grads, t.params()).unwrap());
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "parts differ from the whole batch by {worst}");
}

/// The interchange architecture learns MNIST: a few hundred steps on 6,000 training images
/// bring the test loss far below a fresh model's.
#[test]
fn conv_training_lowers_the_test_loss() {
    let train = common::mnist_train_first(6000);
    let test: Dataset = common::mnist_test().take(1000);
    let mut t = trainer(VaeConfig::conv(ImageShape::MNIST, 8, 0), 64, 11);
    let before = evaluate(t.vae(), &test, &mut Rng::new(1)).unwrap().neg_elbo;
    for _ in 0..150 {
        assert!(!t.train_step(&train).unwrap().diverged);
    }
    let after = evaluate(t.vae(), &test, &mut Rng::new(1)).unwrap().neg_elbo;
    assert!(before > 400.0 && after < 230.0, "test negative ELBO {before:.1} → {after:.1} after 150 steps");
}
