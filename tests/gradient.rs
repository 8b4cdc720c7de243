//! The hand-written training gradients (src/gradient.rs for the MLP, src/conv_gradient.rs for the
//! conv VAE) against candle's autograd on the same loss, for plain and conditional models, β = 1
//! and β = 4, a whole batch and a part of one, with the MLP's first layer dense and skipping
//! blank pixels, and the conv VAE on MNIST and on colour images of another shape.

mod common;

use candle_core::{Device, Tensor};
use vae::data::Dataset;
use vae::gradient::{negative_elbo_gradient, negative_elbo_gradient_with, FirstLayer};
use vae::loss::negative_elbo_with_noise;
use vae::model::one_hot;
use vae::parallel::{Minibatch, PartGradient};
use vae::rng::Rng;
use vae::train::{TrainConfig, Trainer};
use vae::{ImageShape, Vae, VaeConfig};

/// The autograd reference: (recon sum, KL sum, gradient of Σ(recon + β·kl)/B per parameter).
fn autograd(vae: &Vae, part: &Minibatch, batch_size: usize, beta: f64) -> (f64, f64, Vec<(String, Vec<f32>)>) {
    let terms = negative_elbo_with_noise(vae, &part.x, part.y.as_ref(), &part.eps).unwrap();
    let loss = (terms.total(beta).unwrap().sum_all().unwrap() / batch_size as f64).unwrap();
    let grads = loss.backward().unwrap();
    let sum = |t: &Tensor| t.sum_all().unwrap().to_scalar::<f32>().unwrap() as f64;
    let by_name = vae
        .named_parameters()
        .into_iter()
        .map(|(name, p)| (name, grads.get(&p).expect("autograd reaches every parameter").flatten_all().unwrap().to_vec1().unwrap()))
        .collect();
    (sum(&terms.recon), sum(&terms.kl), by_name)
}

/// The hand-written gradient of `config` on the first `images` of `data`, a part of a batch of
/// `batch_size`, matches autograd to 1e-4.
fn check(config: VaeConfig, beta: f64, images: usize, batch_size: usize) {
    check_on(&common::mnist_train_first(256), config, beta, images, batch_size);
}

fn check_on(data: &Dataset, config: VaeConfig, beta: f64, images: usize, batch_size: usize) {
    let mut trainer = Trainer::new(TrainConfig { vae: config, beta, learning_rate: 1e-3, batch_size: 64, seed: 3 }, &Device::Cpu).unwrap();
    // A few steps first, so the weights are not at their initial values.
    for _ in 0..3 {
        trainer.train_step(data).unwrap();
    }
    let vae = trainer.vae();
    let indices: Vec<usize> = (0..images).collect();
    let x = data.batch(&indices, &Device::Cpu).unwrap();
    let y = config.is_conditional().then(|| one_hot(&data.labels()[..images], config.classes, &Device::Cpu).unwrap());
    let eps = Rng::new(9).normal((images, config.latent), &Device::Cpu).unwrap();
    let part = Minibatch { x, y, eps };

    let (recon, kl, reference) = autograd(vae, &part, batch_size, beta);
    let ways: Vec<(String, PartGradient)> = if vae.mlp().is_some() {
        [FirstLayer::Dense, FirstLayer::SkipZeroInputs]
            .into_iter()
            .map(|first| (format!("first layer {first:?}"), negative_elbo_gradient_with(vae, &part, batch_size, beta, first).unwrap()))
            .collect()
    } else {
        // The conv gradient reuses its buffers from one step to the next on a thread: the same
        // part after another one (the images reversed, other noise) gives the same numbers.
        let first = negative_elbo_gradient(vae, &part, batch_size, beta).unwrap();
        let reversed: Vec<usize> = (0..images).rev().collect();
        let other = Minibatch {
            x: data.batch(&reversed, &Device::Cpu).unwrap(),
            y: part.y.clone(),
            eps: Rng::new(10).normal((images, config.latent), &Device::Cpu).unwrap(),
        };
        negative_elbo_gradient(vae, &other, batch_size, beta).unwrap();
        let again = negative_elbo_gradient(vae, &part, batch_size, beta).unwrap();
        assert_eq!((first.recon_sum, first.kl_sum), (again.recon_sum, again.kl_sum), "{config:?}: the sums after another part");
        for (_, p) in vae.named_parameters() {
            let values = |g: &PartGradient| g.grads.get(&p).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(values(&first), values(&again), "{config:?}: a gradient after another part");
        }
        vec![("by hand".to_string(), first), ("by hand, after another part".to_string(), again)]
    };
    for (way, by_hand) in ways {
        let what = format!("{config:?}, β = {beta}, {images} of {batch_size} images, {way}");
        assert!((by_hand.recon_sum - recon).abs() < 1e-4 * recon.abs(), "{what}: recon {} vs {recon}", by_hand.recon_sum);
        assert!((by_hand.kl_sum - kl).abs() < 1e-4 * kl.abs().max(1.0), "{what}: KL {} vs {kl}", by_hand.kl_sum);
        for ((name, expected), (_, p)) in reference.iter().zip(vae.named_parameters()) {
            let got: Vec<f32> = by_hand.grads.get(&p).expect("a gradient for every parameter").flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(got.len(), expected.len(), "{what}: {name}");
            let worst = got.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            let largest = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(largest > 1e-3, "{what}: {name}'s gradient is not trivially zero");
            assert!(worst < 1e-4, "{what}: {name} differs from autograd by {worst} (largest entry {largest})");
        }
    }
}

#[test]
fn matches_autograd_for_a_plain_vae() {
    check(VaeConfig::new(2, 64), 1.0, 64, 64);
    check(VaeConfig::new(16, 128), 4.0, 50, 50);
}

#[test]
fn matches_autograd_for_a_part_of_a_batch() {
    // The second half of a batch of 128: its loss is divided by 128, not 64.
    check(VaeConfig::new(4, 64), 1.0, 64, 128);
}

#[test]
fn matches_autograd_for_a_conditional_vae() {
    check(VaeConfig::conditional(2, 64, 10), 1.0, 64, 64);
    check(VaeConfig::conditional(8, 64, 10), 3.0, 40, 40);
}

#[test]
fn the_conv_gradient_matches_autograd() {
    check(VaeConfig::conv(ImageShape::MNIST, 16, 0), 1.0, 40, 40);
    check(VaeConfig::conv(ImageShape::MNIST, 2, 0), 4.0, 32, 64);
    check(VaeConfig::conv(ImageShape::MNIST, 4, 10), 1.0, 24, 24);
}

#[test]
fn the_conv_gradient_matches_autograd_on_colour_images_of_another_shape() {
    // 3 channels, 8 × 12: channel-major images whose channels differ, and a rectangular map.
    let shape = ImageShape::new(3, 8, 12).unwrap();
    let pixels: Vec<u8> = (0..64 * shape.pixels()).map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let labels: Vec<u8> = (0..64).map(|i| (i % 3) as u8).collect();
    let data = Dataset::from_pixels(shape, pixels, labels).unwrap();
    check_on(&data, VaeConfig::conv(shape, 3, 0), 1.0, 20, 32);
    check_on(&data, VaeConfig::conv(shape, 2, 3), 2.0, 16, 16);
}

#[test]
fn an_empty_part_contributes_nothing() {
    let trainer =
        Trainer::new(TrainConfig { vae: VaeConfig::new(2, 16), beta: 1.0, learning_rate: 1e-3, batch_size: 8, seed: 0 }, &Device::Cpu)
            .unwrap();
    let empty = Minibatch {
        x: Tensor::zeros((0, 784), candle_core::DType::F32, &Device::Cpu).unwrap(),
        y: None,
        eps: Tensor::zeros((0, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
    };
    let g = negative_elbo_gradient(trainer.vae(), &empty, 8, 1.0).unwrap();
    assert_eq!((g.recon_sum, g.kl_sum), (0.0, 0.0));
    assert!(trainer.params().iter().all(|p| g.grads.get(p).is_none()));
}
