//! The loss functions of `vae::loss` against independent computations: the closed-form KL against
//! a Monte Carlo estimate, the logit-space binary cross-entropy against the textbook formula, the
//! IWAE bound against the ELBO on a briefly trained model, and the gradients of the negative ELBO
//! against finite differences.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use rand::{rngs::StdRng, Rng as _, SeedableRng};
use vae::loss::{bce_with_logits, iwae_nll, kl_standard_normal, negative_elbo, negative_elbo_with_noise};
use vae::rng::Rng;
use vae::train::{TrainConfig, Trainer};
use vae::{Vae, VaeConfig};

const LN_2PI: f64 = 1.837_877_066_409_345_5; // ln(2π)

/// One N(0, 1) sample by Box–Muller, independent of the crate's own sampler.
fn box_muller(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log density of N(mean, exp(log_var)) at `z`, in plain f64.
fn log_normal(z: f64, mean: f64, log_var: f64) -> f64 {
    -0.5 * (LN_2PI + log_var + (z - mean).powi(2) / log_var.exp())
}

/// The closed-form KL(N(mu, σ²) || N(0, I)) matches a 200,000-sample Monte Carlo estimate of
/// E_q[log q(z) − log p(z)], to within 5 standard errors, for several (mu, log_var) rows.
#[test]
fn kl_closed_form_matches_monte_carlo() {
    let rows: [([f64; 3], [f64; 3]); 4] = [
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]), // q = p: KL is exactly 0
        ([1.0, -0.5, 2.0], [0.3, -1.0, 0.8]),
        ([-2.0, 0.1, 0.0], [-2.5, 1.5, -0.2]),
        ([0.0, 3.0, -1.2], [-4.0, 0.0, 2.0]),
    ];
    let mu: Vec<f32> = rows.iter().flat_map(|(m, _)| m.map(|v| v as f32)).collect();
    let lv: Vec<f32> = rows.iter().flat_map(|(_, l)| l.map(|v| v as f32)).collect();
    let mu = Tensor::from_vec(mu, (rows.len(), 3), &Device::Cpu).unwrap();
    let lv = Tensor::from_vec(lv, (rows.len(), 3), &Device::Cpu).unwrap();
    let kl = kl_standard_normal(&mu, &lv).unwrap();
    assert_eq!(kl.dims(), &[rows.len()], "one KL per row, summed over the latent dimension");
    let kl = kl.to_vec1::<f32>().unwrap();

    let mut rng = StdRng::seed_from_u64(12345);
    const N: usize = 200_000;
    for (row, (m, l)) in rows.iter().enumerate() {
        let (mut sum, mut sum_sq) = (0f64, 0f64);
        for _ in 0..N {
            let mut log_ratio = 0.0;
            for d in 0..3 {
                let z = m[d] + (0.5 * l[d]).exp() * box_muller(&mut rng);
                log_ratio += log_normal(z, m[d], l[d]) - log_normal(z, 0.0, 0.0);
            }
            sum += log_ratio;
            sum_sq += log_ratio * log_ratio;
        }
        let mean = sum / N as f64;
        let std_err = ((sum_sq / N as f64 - mean * mean).max(0.0) / N as f64).sqrt();
        let tol = 5.0 * std_err + 1e-5 * (1.0 + mean.abs());
        let got = kl[row] as f64;
        assert!(
            (got - mean).abs() <= tol,
            "row {row}: closed-form KL {got} vs Monte Carlo {mean} ± {std_err} (tolerance {tol})"
        );
    }
    assert_eq!(kl[0], 0.0, "KL(N(0, I) || N(0, I)) must be exactly zero");
}

/// Per-pixel Bernoulli negative log-likelihood −[x ln σ(l) + (1−x) ln(1−σ(l))], textbook form in f64.
fn bce_reference(logit: f64, x: f64) -> f64 {
    let s = 1.0 / (1.0 + (-logit).exp());
    -(x * s.ln() + (1.0 - x) * (1.0 - s).ln())
}

/// For moderate logits, `bce_with_logits` equals the textbook formula summed over the last
/// dimension, for targets anywhere in [0, 1].
#[test]
fn bce_with_logits_matches_textbook_formula() {
    let mut rng = StdRng::seed_from_u64(7);
    let (rows, cols) = (5, 784);
    let logits: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(-8.0f32..8.0)).collect();
    let xs: Vec<f32> = (0..rows * cols)
        .map(|i| match i % 3 {
            0 => 0.0,
            1 => 1.0,
            _ => rng.random::<f32>(),
        })
        .collect();
    let got = bce_with_logits(
        &Tensor::from_slice(&logits, (rows, cols), &Device::Cpu).unwrap(),
        &Tensor::from_slice(&xs, (rows, cols), &Device::Cpu).unwrap(),
    )
    .unwrap();
    assert_eq!(got.dims(), &[rows]);
    let got = got.to_vec1::<f32>().unwrap();
    for r in 0..rows {
        let want: f64 = (0..cols).map(|c| bce_reference(logits[r * cols + c] as f64, xs[r * cols + c] as f64)).sum();
        let err = (got[r] as f64 - want).abs();
        assert!(err <= 1e-5 * want.abs().max(1.0), "row {r}: {} vs reference {want}", got[r]);
    }
}

/// Saturated logits (±100, ±1e4) give finite losses with the right asymptotic values:
/// −ln σ(l) → max(−l, 0) and −ln(1 − σ(l)) → max(l, 0), where the naive formula gives inf or NaN.
#[test]
fn bce_with_logits_is_finite_for_saturated_logits() {
    let cases: Vec<(f32, f32)> = [100.0f32, -100.0, 1e4, -1e4, 1e30, -1e30]
        .iter()
        .flat_map(|&l| [(l, 0.0f32), (l, 1.0), (l, 0.25)])
        .collect();
    let logits: Vec<f32> = cases.iter().map(|c| c.0).collect();
    let xs: Vec<f32> = cases.iter().map(|c| c.1).collect();
    // One pixel per row, so each output is one pixel's loss.
    let got = bce_with_logits(
        &Tensor::from_slice(&logits, (cases.len(), 1), &Device::Cpu).unwrap(),
        &Tensor::from_slice(&xs, (cases.len(), 1), &Device::Cpu).unwrap(),
    )
    .unwrap()
    .to_vec1::<f32>()
    .unwrap();
    for (&(l, x), &loss) in cases.iter().zip(&got) {
        assert!(loss.is_finite(), "logit {l}, target {x}: loss {loss} is not finite");
        // For |l| ≥ 100 the correction ln(1 + e^{−|l|}) is below 1e-43: the loss is piecewise linear.
        let (l, x) = (l as f64, x as f64);
        let want = x * (-l).max(0.0) + (1.0 - x) * l.max(0.0);
        assert!(
            (loss as f64 - want).abs() <= 1e-6 * want.max(1.0),
            "logit {l}, target {x}: loss {loss}, expected {want}"
        );
    }
}

/// Mean of a [B] tensor in f64.
fn mean(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().mean_all().unwrap().to_scalar::<f64>().unwrap()
}

/// A small model (L=2, H=64) trained for 300 steps (batch 64) on the first 2,000 MNIST training
/// images, so its posterior is meaningful.
fn briefly_trained_model() -> Vae {
    let data = common::mnist_train_first(2000);
    let config = TrainConfig { vae: VaeConfig::new(2, 64), beta: 1.0, learning_rate: 1e-3, batch_size: 64, seed: 3 };
    let mut trainer = Trainer::new(config, &Device::Cpu).unwrap();
    for _ in 0..300 {
        trainer.train_step(&data).unwrap();
    }
    trainer.vae().clone()
}

/// On 200 test images of a briefly trained model, `iwae_nll` (−IWAE bound) at k = 1 agrees with the
/// negative ELBO (they are the same estimator in expectation), never exceeds it on average, and
/// tightens (decreases) as k grows from 1 to 10 to 100, as the IWAE bound log p(x) ≥ L_k ≥ L_1 = ELBO
/// demands.
#[test]
fn iwae_bound_tightens_with_k_and_starts_at_the_elbo() {
    let vae = briefly_trained_model();
    let x = common::mnist_test().range(0, 200, &Device::Cpu).unwrap();
    let mut rng = Rng::new(99);

    // The negative ELBO, averaged over 20 samples of z per image to shrink its noise.
    let reps = 20;
    let neg_elbo = (0..reps)
        .map(|_| mean(&negative_elbo(&vae, &x, &mut rng).unwrap().total(1.0).unwrap()))
        .sum::<f64>()
        / reps as f64;
    let iwae_1 = (0..reps).map(|_| mean(&iwae_nll(&vae, &x, 1, &mut rng).unwrap())).sum::<f64>() / reps as f64;
    let iwae_10 = mean(&iwae_nll(&vae, &x, 10, &mut rng).unwrap());
    let iwae_100 = mean(&iwae_nll(&vae, &x, 100, &mut rng).unwrap());
    eprintln!("negative ELBO {neg_elbo:.3}, −IWAE k=1 {iwae_1:.3}, k=10 {iwae_10:.3}, k=100 {iwae_100:.3}");

    assert!(neg_elbo.is_finite() && neg_elbo > 100.0 && neg_elbo < 250.0, "negative ELBO {neg_elbo} is implausible");
    assert!((iwae_1 - neg_elbo).abs() < 1.0, "k=1: {iwae_1} should match the negative ELBO {neg_elbo}");
    assert!(iwae_10 < neg_elbo - 1.0, "k=10: {iwae_10} should be below the negative ELBO {neg_elbo}");
    assert!(iwae_10 < iwae_1 - 1.0, "k=10: {iwae_10} should be below k=1: {iwae_1}");
    assert!(iwae_100 < iwae_10 - 0.3, "k=100: {iwae_100} should be below k=10: {iwae_10}");
    // Still a bound on −log p(x): the gap closes slowly, it does not collapse.
    assert!(neg_elbo - iwae_100 < 30.0, "k=100 gap {} nats is implausibly large", neg_elbo - iwae_100);
}

/// `iwae_nll` rejects k = 0 with an error instead of dividing by zero.
#[test]
fn iwae_rejects_zero_samples() {
    let vae = fresh_model(VaeConfig::new(2, 8), 0).1;
    let x = Tensor::zeros((2, 784), DType::F32, &Device::Cpu).unwrap();
    assert!(iwae_nll(&vae, &x, 0, &mut Rng::new(0)).is_err());
}

/// A fresh trainable model: its parameters (name, Var) and the model reading them.
fn fresh_model(config: VaeConfig, seed: u64) -> (Vec<(String, Var)>, Vae) {
    let device = Device::Cpu;
    let varmap = vae::weights::init_varmap(config, &mut Rng::new(seed), &device).unwrap();
    let vae = Vae::new(VarBuilder::from_varmap(&varmap, DType::F32, &device), config).unwrap();
    let mut vars: Vec<(String, Var)> = varmap.data().lock().unwrap().iter().map(|(n, v)| (n.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    (vars, vae)
}

/// Backpropagating the batch-mean negative ELBO gives every one of the 8 parameters a finite,
/// non-zero gradient, and the gradient agrees with a central finite difference of the loss along
/// the gradient direction (so no part of the graph is detached or mis-differentiated).
#[test]
fn negative_elbo_gradients_are_finite_nonzero_and_correct() {
    let config = VaeConfig::new(4, 32);
    let (vars, vae) = fresh_model(config, 11);
    assert_eq!(vars.len(), 8);
    let x = common::mnist_test().range(0, 64, &Device::Cpu).unwrap();
    let eps = Rng::new(5).normal((64, config.latent), &Device::Cpu).unwrap();
    let loss_at = |vae: &Vae| -> f64 {
        negative_elbo_with_noise(vae, &x, &eps).unwrap().mean_total(1.0).unwrap().to_scalar::<f32>().unwrap() as f64
    };

    let loss = negative_elbo_with_noise(&vae, &x, &eps).unwrap().mean_total(1.0).unwrap();
    let grads = loss.backward().unwrap();
    let mut grad_list = Vec::new();
    let mut norm_sq = 0f64;
    for (name, var) in &vars {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for `{name}`"));
        assert_eq!(g.dims(), var.dims(), "gradient of `{name}` has the wrong shape");
        let values = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "gradient of `{name}` is not finite");
        let n2: f64 = values.iter().map(|&v| (v as f64).powi(2)).sum();
        assert!(n2 > 0.0, "gradient of `{name}` is zero");
        norm_sq += n2;
        grad_list.push(g.clone());
    }
    let norm = norm_sq.sqrt();

    // Directional derivative along g/|g| is |g|; check it by a central difference.
    let h = 1e-2;
    let originals: Vec<Tensor> = vars.iter().map(|(_, v)| v.as_tensor().copy().unwrap()).collect();
    let shift = |sign: f64| {
        for (((_, var), orig), g) in vars.iter().zip(&originals).zip(&grad_list) {
            var.set(&(orig + (g * (sign * h / norm)).unwrap()).unwrap()).unwrap();
        }
    };
    shift(1.0);
    let up = loss_at(&vae);
    shift(-1.0);
    let down = loss_at(&vae);
    let finite_difference = (up - down) / (2.0 * h);
    eprintln!("|grad| {norm:.4}, finite difference {finite_difference:.4}");
    assert!(
        (finite_difference - norm).abs() <= 0.02 * norm,
        "finite difference {finite_difference} disagrees with the gradient norm {norm}"
    );
}
