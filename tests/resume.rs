//! Training that resumes: a run saved to a checkpoint ([`vae::resume`]) and restored goes on with
//! exactly the steps of a run never interrupted (bit for bit), across epoch ends, for the MLP, the
//! conv VAE and a conditional model, and after a divergence; bad checkpoints are refused.

mod common;

use candle_core::Device;
use vae::resume;
use vae::train::{TrainConfig, Trainer};
use vae::weights::Metadata;
use vae::{Arch, VaeConfig};

fn parameters(trainer: &Trainer) -> Vec<(String, Vec<f32>)> {
    trainer.vae().named_parameters().into_iter().map(|(n, t)| (n, t.flatten_all().unwrap().to_vec1::<f32>().unwrap())).collect()
}

fn assert_identical(a: &Trainer, b: &Trainer, what: &str) {
    assert_eq!(a.steps(), b.steps(), "{what}: steps");
    assert_eq!(a.epoch(), b.epoch(), "{what}: epochs");
    assert_eq!(a.learning_rate(), b.learning_rate(), "{what}: learning rate");
    for ((name, x), (_, y)) in parameters(a).iter().zip(&parameters(b)) {
        assert!(x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()), "{what}: `{name}` differs");
    }
}

/// Trains `before` steps, saves, restores from the bytes, trains `after` more; compares with a run
/// of `before + after` steps that never stopped (losses and weights, bit for bit).
fn resumes_exactly(config: TrainConfig, data: &vae::data::Dataset, before: usize, after: usize, what: &str) {
    let mut straight = Trainer::new(config, &Device::Cpu).unwrap();
    let straight_losses: Vec<f64> = (0..before + after).map(|_| straight.train_step(data).unwrap().stats.neg_elbo).collect();

    let mut first = Trainer::new(config, &Device::Cpu).unwrap();
    for _ in 0..before {
        first.train_step(data).unwrap();
    }
    let run: Metadata = [("dataset".to_string(), "mnist".to_string())].into();
    let bytes = resume::save(&first.state().unwrap(), &run).unwrap();
    drop(first);
    let (state, back) = resume::load(&bytes).unwrap();
    assert_eq!(back, run, "{what}: the caller's entries come back");
    let mut resumed = Trainer::from_state(state, &Device::Cpu).unwrap();
    assert_eq!(resumed.steps(), before);
    let losses: Vec<f64> = (0..after).map(|_| resumed.train_step(data).unwrap().stats.neg_elbo).collect();
    assert_eq!(losses, straight_losses[before..], "{what}: losses after resuming");
    assert_identical(&resumed, &straight, what);
}

#[test]
fn a_resumed_mlp_run_equals_an_uninterrupted_one_across_epochs() {
    // 300 images, batch 64: 5 steps an epoch; stop mid-epoch (7) and go on over two epoch ends.
    let data = common::mnist_train_first(300);
    let config = TrainConfig { vae: VaeConfig::new(2, 32), beta: 1.0, learning_rate: 1e-3, batch_size: 64, seed: 5 };
    resumes_exactly(config, &data, 7, 9, "mlp");
    // Saved at an epoch's end (cursor 0: the next step draws a new order).
    resumes_exactly(config, &data, 5, 6, "mlp at an epoch end");
}

#[test]
fn a_resumed_conv_and_conditional_run_equals_an_uninterrupted_one() {
    let data = common::mnist_train_first(200);
    let conv = VaeConfig { arch: Arch::CONV, ..VaeConfig::new(4, 0) };
    resumes_exactly(TrainConfig { vae: conv, beta: 1.0, learning_rate: 1e-3, batch_size: 32, seed: 9 }, &data, 4, 4, "conv");
    let cvae = VaeConfig::conditional(3, 32, 10);
    resumes_exactly(TrainConfig { vae: cvae, beta: 2.0, learning_rate: 1e-3, batch_size: 50, seed: 2 }, &data, 5, 5, "conditional");
}

#[test]
fn a_run_resumed_after_divergence_keeps_its_halved_rate_and_fallback() {
    let data = common::mnist_train_first(500);
    let config = TrainConfig { vae: VaeConfig::new(2, 32), beta: 1.0, learning_rate: 10.0, batch_size: 50, seed: 3 };
    // Find a step count after which the run has diverged at least once.
    let mut probe = Trainer::new(config, &Device::Cpu).unwrap();
    let mut before = 0;
    while probe.learning_rate() == 10.0 && before < 300 {
        probe.train_step(&data).unwrap();
        before += 1;
    }
    assert!(probe.learning_rate() < 10.0, "lr = 10 should diverge");
    resumes_exactly(config, &data, before + 3, 40, "after a divergence");
}

#[test]
fn bad_checkpoints_are_refused_with_a_reason() {
    let config = TrainConfig { vae: VaeConfig::new(2, 16), beta: 1.0, learning_rate: 1e-3, batch_size: 8, seed: 1 };
    let trainer = Trainer::new(config, &Device::Cpu).unwrap();
    let bytes = resume::save(&trainer.state().unwrap(), &Metadata::new()).unwrap();
    let message = |bytes: &[u8]| vae::error_message(resume::load(bytes).err().expect("refused"));
    assert!(message(&bytes[..bytes.len() / 2]).contains("safetensors"), "{}", message(&bytes[..bytes.len() / 2]));
    assert!(message(b"").contains("safetensors"));
    // A weights file is not a checkpoint.
    let weights = vae::weights::save_vae(trainer.vae(), &Metadata::new()).unwrap();
    assert!(message(&weights).starts_with("not a training checkpoint"), "{}", message(&weights));
    // A checkpoint whose sizes disagree with its tensors.
    let mut state = trainer.state().unwrap();
    state.config.vae = VaeConfig::new(3, 16);
    let wrong = resume::save(&state, &Metadata::new()).unwrap();
    let (state, _) = resume::load(&wrong).unwrap();
    let refused = vae::error_message(Trainer::from_state(state, &Device::Cpu).err().expect("refused"));
    assert!(refused.contains("do not fit"), "{refused}");
    let (mut state, _) = resume::load(&bytes).unwrap();
    state.cursor = 5;
    assert!(Trainer::from_state(state, &Device::Cpu).is_err(), "a cursor past the order is refused");
}

/// rand's `StdRng` is ChaCha12: the generator the crate now uses directly draws the same numbers,
/// so runs and shipped models made before stay reproducible.
#[test]
fn the_generator_is_rands_std_rng() {
    use rand::{Rng as _, SeedableRng};
    let mut std = rand::rngs::StdRng::seed_from_u64(42);
    let expected: Vec<f32> = (0..100).map(|_| std.random_range(-1.0..=1.0)).collect();
    let mut ours = vae::rng::Rng::new(42);
    let t = ours.uniform(100, 1.0, &Device::Cpu).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(t, expected);
    // And a restored generator continues the stream.
    let state = ours.state();
    let next = ours.normal(7, &Device::Cpu).unwrap().to_vec1::<f32>().unwrap();
    let again = vae::rng::Rng::from_state(state).normal(7, &Device::Cpu).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(next, again);
}
