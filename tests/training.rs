//! Training on real MNIST: the loss falls, runs repeat exactly under a seed, and the shipped
//! models reach the test-set negative ELBO the app promises.

mod common;

use candle_core::{Device, Tensor};
use vae::data::Dataset;
use vae::parallel::{self, Minibatch, PartGradient};
use vae::rng::Rng;
use vae::train::{evaluate, ElboStats, TrainConfig, Trainer};
use vae::weights::load_vae;
use vae::{ImageShape, VaeConfig};

/// Bounds on the shipped conv models' test negative ELBO: 16-D at the target of 97.5; 2-D
/// and Fashion-MNIST regression bounds for what shipped (see the README; 2-D's target of 147 is
/// not met).
const CONV_16D_BOUND: f64 = 97.5;
const CONV_2D_BOUND: f64 = 149.5;
const CONV_FASHION_16D_BOUND: f64 = 239.5;

fn config(latent: usize, hidden: usize, seed: u64) -> TrainConfig {
    TrainConfig { vae: VaeConfig::new(latent, hidden), beta: 1.0, learning_rate: 1e-3, batch_size: 64, seed }
}

/// Every parameter of a trainer's model, flattened, in `state_dict` order.
fn parameters(trainer: &Trainer) -> Vec<(String, Vec<f32>)> {
    trainer.vae().named_parameters().into_iter().map(|(n, t)| (n, t.flatten_all().unwrap().to_vec1::<f32>().unwrap())).collect()
}

/// 200 steps (batch 64) on the first 2,000 MNIST training images lower the held-out negative ELBO
/// on 1,000 test images from its untrained value (≈ 540 nats) by a wide margin, to below 220 nats.
/// A model that does not learn (wrong gradient sign, detached encoder, broken optimiser step)
/// stays far above that.
#[test]
fn two_hundred_steps_lower_the_test_loss() {
    let train = common::mnist_train_first(2000);
    let test = common::mnist_test().take(1000);
    let mut trainer = Trainer::new(config(2, 128, 1), &Device::Cpu).unwrap();
    let before = evaluate(trainer.vae(), &test, &mut Rng::new(0)).unwrap();
    let mut first_batches = 0.0;
    let mut last_batches = 0.0;
    for step in 0..200 {
        let report = trainer.train_step(&train).unwrap();
        assert!(!report.diverged, "step {step} diverged");
        let stats = report.stats;
        assert!(stats.neg_elbo.is_finite());
        if step < 10 {
            first_batches += stats.neg_elbo / 10.0;
        }
        if step >= 190 {
            last_batches += stats.neg_elbo / 10.0;
        }
    }
    let after = evaluate(trainer.vae(), &test, &mut Rng::new(0)).unwrap();
    eprintln!(
        "test negative ELBO before {:.2}, after {:.2} (recon {:.2}, KL {:.2}); training batches {:.2} → {:.2}",
        before.neg_elbo, after.neg_elbo, after.recon, after.kl, first_batches, last_batches
    );
    assert_eq!(trainer.steps(), 200);
    // 200 batches of 64 over 2,000 images: 6 full epochs (32 batches each, the last one partial).
    assert_eq!(trainer.epoch(), 6);
    assert_eq!(after.n, 1000);
    assert!(before.neg_elbo > 450.0, "untrained model scores {:.2}; expected ≈ 540", before.neg_elbo);
    assert!(
        after.neg_elbo < before.neg_elbo - 250.0 && after.neg_elbo < 220.0,
        "200 steps only brought the test negative ELBO from {:.2} to {:.2}",
        before.neg_elbo,
        after.neg_elbo
    );
    assert!((after.recon + after.kl - after.neg_elbo).abs() < 1e-6 * after.neg_elbo);
    assert!(after.kl > 0.5, "KL {:.3} collapsed: the latent is unused", after.kl);
    assert!(last_batches < first_batches - 250.0, "training loss {first_batches:.2} → {last_batches:.2}");
}

/// Two trainers with the same seed, stepped through the same data, hold bit-identical weights
/// (initialisation, shuffling and ε all come from the seed); a different seed gives different ones.
#[test]
fn same_seed_repeats_exactly_and_different_seed_differs() {
    let data = common::mnist_train_first(500);
    let run = |seed: u64| {
        let mut trainer = Trainer::new(config(3, 32, seed), &Device::Cpu).unwrap();
        let losses: Vec<f64> = (0..25).map(|_| trainer.train_step(&data).unwrap().stats.neg_elbo).collect();
        (parameters(&trainer), losses)
    };
    let (a, losses_a) = run(42);
    let (b, losses_b) = run(42);
    let (c, _) = run(43);
    assert_eq!(losses_a, losses_b, "same seed, different training losses");
    for ((name, va), (_, vb)) in a.iter().zip(&b) {
        assert!(va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()), "same seed, `{name}` differs");
    }
    for ((name, va), (_, vc)) in a.iter().zip(&c) {
        assert!(va != vc, "different seeds gave identical `{name}`");
    }
}

/// Loads a shipped model (failing, not skipping, when it is absent), checks its sizes, and returns
/// its statistics on the 10,000 test images of its dataset.
fn shipped_model_test_stats(file: &str, config: VaeConfig, test: &Dataset) -> ElboStats {
    let loaded = load_vae(&common::shipped_model_bytes(file), &Device::Cpu).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(loaded.vae.config(), config, "{file}: sizes read from its shapes");
    let stats = evaluate(&loaded.vae, test, &mut Rng::new(0)).unwrap();
    assert_eq!(stats.n, 10_000);
    eprintln!("{file}: test negative ELBO {:.2} (recon {:.2}, KL {:.2})", stats.neg_elbo, stats.recon, stats.kl);
    stats
}

fn shipped_model_test_elbo(file: &str, latent: usize) -> f64 {
    shipped_model_test_stats(file, VaeConfig::new(latent, 512), &common::mnist_test()).neg_elbo
}

/// The shipped 2-D model scores a test negative ELBO of at most 151 nats per image.
#[test]
fn shipped_2d_model_reaches_its_test_elbo() {
    let neg_elbo = shipped_model_test_elbo("mnist-2d.safetensors", 2);
    assert!(neg_elbo <= 151.0, "mnist-2d: test negative ELBO {neg_elbo:.2} > 151");
}

/// The shipped 16-D model scores a test negative ELBO of at most 102 nats per image.
#[test]
fn shipped_16d_model_reaches_its_test_elbo() {
    let neg_elbo = shipped_model_test_elbo("mnist-16d.safetensors", 16);
    assert!(neg_elbo <= 102.0, "mnist-16d: test negative ELBO {neg_elbo:.2} > 102");
}

/// The shipped Fashion-MNIST models reach their bounds on the Fashion-MNIST test set (for scale,
/// the MNIST models score far worse there).
#[test]
fn shipped_fashion_models_reach_their_test_elbo() {
    let test = common::fashion_test();
    let two = shipped_model_test_stats("fashion-2d.safetensors", VaeConfig::new(2, 512), &test);
    assert!(two.neg_elbo <= 265.0, "fashion-2d: {:.2} > 265", two.neg_elbo);
    let sixteen = shipped_model_test_stats("fashion-16d.safetensors", VaeConfig::new(16, 512), &test);
    assert!(sixteen.neg_elbo <= 245.0, "fashion-16d: {:.2} > 245", sixteen.neg_elbo);
    let mnist = shipped_model_test_stats("mnist-2d.safetensors", VaeConfig::new(2, 512), &test);
    assert!(mnist.neg_elbo > two.neg_elbo + 20.0, "the MNIST model should fit Fashion-MNIST worse");
}

/// The shipped conditional models: sizes with 10 label inputs, and a lower negative ELBO than the
/// unconditional model of the same latent size (the label carries information).
#[test]
fn shipped_conditional_models_reach_their_test_elbo() {
    let test = common::mnist_test();
    let two = shipped_model_test_stats("cvae-mnist-2d.safetensors", VaeConfig::conditional(2, 512, 10), &test);
    assert!(two.neg_elbo <= 135.0, "cvae-mnist-2d: {:.2} > 135", two.neg_elbo);
    let eight = shipped_model_test_stats("cvae-mnist-8d.safetensors", VaeConfig::conditional(8, 512, 10), &test);
    // Trained with β = 3 (see the README): a looser bound than β = 1 would give.
    assert!(eight.neg_elbo <= 109.0, "cvae-mnist-8d: {:.2} > 109", eight.neg_elbo);
}

/// The shipped conv models: their sizes read from the files, and for 16-D a lower negative ELBO
/// and a lower reconstruction term than the MLP of the same latent size.
#[test]
fn shipped_conv_models_reach_their_test_elbo() {
    let mnist = common::mnist_test();
    let conv = |l| VaeConfig::conv(ImageShape::MNIST, l, 0);
    let sixteen = shipped_model_test_stats("conv-mnist-16d.safetensors", conv(16), &mnist);
    assert!(sixteen.neg_elbo <= CONV_16D_BOUND, "conv-mnist-16d: {:.2} > {CONV_16D_BOUND}", sixteen.neg_elbo);
    let mlp = shipped_model_test_stats("mnist-16d.safetensors", VaeConfig::new(16, 512), &mnist);
    assert!(sixteen.neg_elbo < mlp.neg_elbo, "conv 16-D {:.2} vs the MLP's {:.2}", sixteen.neg_elbo, mlp.neg_elbo);
    assert!(sixteen.recon < mlp.recon, "conv 16-D reconstruction {:.2} vs the MLP's {:.2}", sixteen.recon, mlp.recon);
    let two = shipped_model_test_stats("conv-mnist-2d.safetensors", conv(2), &mnist);
    assert!(two.neg_elbo <= CONV_2D_BOUND, "conv-mnist-2d: {:.2} > {CONV_2D_BOUND}", two.neg_elbo);
    // Fashion-MNIST: below the MLP of the same latent size too.
    let fashion = common::fashion_test();
    let conv_fashion = shipped_model_test_stats("conv-fashion-16d.safetensors", conv(16), &fashion);
    assert!(conv_fashion.neg_elbo <= CONV_FASHION_16D_BOUND, "conv-fashion-16d: {:.2} > {CONV_FASHION_16D_BOUND}", conv_fashion.neg_elbo);
    let mlp_fashion = shipped_model_test_stats("fashion-16d.safetensors", VaeConfig::new(16, 512), &fashion);
    assert!(
        conv_fashion.neg_elbo < mlp_fashion.neg_elbo,
        "conv fashion 16-D {:.2} vs the MLP's {:.2}",
        conv_fashion.neg_elbo,
        mlp_fashion.neg_elbo
    );
}

/// The β panel's models: a larger β buys a smaller KL with a worse reconstruction.
#[test]
fn shipped_beta_models_trade_kl_for_reconstruction() {
    let test = common::mnist_test();
    let stats: Vec<ElboStats> = ["mnist-2d-beta0.5.safetensors", "mnist-2d.safetensors", "mnist-2d-beta4.safetensors"]
        .iter()
        .map(|f| shipped_model_test_stats(f, VaeConfig::new(2, 512), &test))
        .collect();
    for pair in stats.windows(2) {
        assert!(pair[0].kl > pair[1].kl, "KL should fall as β grows: {:?}", stats);
        assert!(pair[0].recon < pair[1].recon, "reconstruction should worsen as β grows: {:?}", stats);
    }
}

/// lr = 10 diverges within a few steps. Each divergence restores the last checkpoint (finite
/// weights), halves the learning rate and is reported; training then recovers to a sane loss.
#[test]
fn divergence_restores_finite_weights_and_halves_the_learning_rate() {
    let train = common::mnist_train_first(2000);
    let test = common::mnist_test().take(500);
    let mut cfg = config(2, 64, 3);
    cfg.learning_rate = 10.0;
    let mut trainer = Trainer::new(cfg, &Device::Cpu).unwrap();
    let mut divergences = 0;
    for _ in 0..300 {
        let lr = trainer.learning_rate();
        let report = trainer.train_step(&train).unwrap();
        if report.diverged {
            divergences += 1;
            assert_eq!(trainer.learning_rate(), lr / 2.0, "the learning rate is halved");
            for (name, values) in parameters(&trainer) {
                assert!(values.iter().all(|v| v.is_finite()), "{name} restored to finite values");
            }
        }
    }
    assert!(divergences >= 3, "lr = 10 should diverge repeatedly, saw {divergences}");
    assert!(trainer.learning_rate() < 1.0);
    let after = evaluate(trainer.vae(), &test, &mut Rng::new(0)).unwrap();
    assert!(after.neg_elbo.is_finite() && after.neg_elbo < 300.0, "recovered to a sane loss: {}", after.neg_elbo);
}

/// Data parallelism changes nothing but speed: steps on 1, 2 and 3 shards of the same batches
/// (same seed, hence the same noise) give the same losses and weights to 1e-4.
#[test]
fn sharded_steps_match_whole_batch_steps() {
    let data = common::mnist_train_first(512);
    let run = |shards: usize| {
        let mut trainer = Trainer::new(config(2, 64, 11), &Device::Cpu).unwrap();
        trainer.set_shards(shards);
        let losses: Vec<f64> = (0..6).map(|_| trainer.train_step(&data).unwrap().stats.neg_elbo).collect();
        (losses, parameters(&trainer))
    };
    let (whole_losses, whole) = run(1);
    for shards in [2, 3] {
        let (losses, params) = run(shards);
        for (a, b) in losses.iter().zip(&whole_losses) {
            assert!((a - b).abs() < 1e-4 * b.abs(), "{shards} shards: loss {a} vs {b}");
        }
        for ((name, a), (_, b)) in params.iter().zip(&whole) {
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-4, "{shards} shards: {name} differs by {worst}");
        }
    }
}

/// The browser's two-worker protocol: the first worker draws each batch and sends the second its
/// half's images and noise as flat vectors; each computes its half's gradient, they swap them as
/// flat vectors, and both apply the sum. The two stay bit-identical, and match one trainer taking
/// whole-batch steps to 1e-4. The batches include a last one of a single image (513 = 4 × 128 + 1),
/// where the first half is empty.
#[test]
fn two_workers_swapping_flat_parts_match_whole_batch_steps() {
    let data = common::mnist_train_first(513);
    let steps = 7; // one epoch of 5 batches, then two more
    let mut whole = Trainer::new(config(2, 64, 5), &Device::Cpu).unwrap();
    let whole_losses: Vec<f64> = (0..steps).map(|_| whole.train_step(&data).unwrap().stats.neg_elbo).collect();

    let mut first = Trainer::new(config(2, 64, 5), &Device::Cpu).unwrap();
    let mut second = Trainer::new(config(2, 64, 5), &Device::Cpu).unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for (step, whole_loss) in whole_losses.iter().enumerate() {
        let batch = first.next_minibatch(&data).unwrap();
        let b = batch.len();
        let sent = batch.part(1, 2).unwrap();
        let n = sent.len();
        let received = Minibatch {
            x: Tensor::from_vec(flat(&sent.x), (n, 784), &Device::Cpu).unwrap(),
            y: None,
            eps: Tensor::from_vec(flat(&sent.eps), (n, 2), &Device::Cpu).unwrap(),
        };
        let own = [first.part_gradient(&batch.part(0, 2).unwrap(), b).unwrap(), second.part_gradient(&received, b).unwrap()];
        let wire = [parallel::flatten(&own[0].grads, first.params()).unwrap(), parallel::flatten(&own[1].grads, second.params()).unwrap()];
        let mut reports = Vec::new();
        for (i, trainer) in [&mut first, &mut second].into_iter().enumerate() {
            let (mine, theirs) = (&own[i], 1 - i);
            let mut total = PartGradient {
                recon_sum: mine.recon_sum,
                kl_sum: mine.kl_sum,
                grads: parallel::unflatten(&wire[i], trainer.params()).unwrap(),
            };
            // As the browser's workers do: the other part arrives flat and is added in place.
            parallel::add_flat(&mut total, &wire[theirs], own[theirs].recon_sum, own[theirs].kl_sum, trainer.params()).unwrap();
            reports.push(trainer.apply(b, total).unwrap());
        }
        assert_eq!(reports[0].stats, reports[1].stats, "step {step}: both workers see the same batch statistics");
        let loss = reports[0].stats.neg_elbo;
        assert!((loss - whole_loss).abs() < 1e-4 * whole_loss.abs(), "step {step}: loss {loss} vs whole batch {whole_loss}");
    }
    assert_eq!(parameters(&first), parameters(&second), "the two workers' weights are bit-identical");
    for ((name, a), (_, b)) in parameters(&first).iter().zip(&parameters(&whole)) {
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "{name} differs from whole-batch training by {worst}");
    }
    assert_eq!(first.epoch(), whole.epoch());
}

/// A flat gradient of the wrong length is refused with a message, not a panic, whether it is
/// unflattened or added to a part.
#[test]
fn unflatten_refuses_a_wrong_length() {
    let trainer = Trainer::new(config(2, 16, 0), &Device::Cpu).unwrap();
    let n: usize = trainer.params().iter().map(|v| v.elem_count()).sum();
    let Err(err) = parallel::unflatten(&vec![0.0; n - 1], trainer.params()) else { panic!("a short gradient must be refused") };
    assert!(err.to_string().contains("parameters"), "{err}");
    assert!(parallel::unflatten(&vec![0.0; n], trainer.params()).is_ok());
    let mut total = PartGradient::default();
    let Err(err) = parallel::add_flat(&mut total, &vec![0.0; n + 1], 0.0, 0.0, trainer.params()) else {
        panic!("a long gradient must be refused")
    };
    assert!(err.to_string().contains("parameters"), "{err}");
    parallel::add_flat(&mut total, &vec![0.5; n], 1.0, 2.0, trainer.params()).unwrap();
    parallel::add_flat(&mut total, &vec![0.25; n], 1.0, 2.0, trainer.params()).unwrap();
    assert_eq!((total.recon_sum, total.kl_sum), (2.0, 4.0));
    assert_eq!(parallel::flatten(&total.grads, trainer.params()).unwrap(), vec![0.75; n], "two flat parts add up");
}
