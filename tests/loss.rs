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
        assert!((got - mean).abs() <= tol, "row {row}: closed-form KL {got} vs Monte Carlo {mean} ± {std_err} (tolerance {tol})");
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
    let cases: Vec<(f32, f32)> =
        [100.0f32, -100.0, 1e4, -1e4, 1e30, -1e30].iter().flat_map(|&l| [(l, 0.0f32), (l, 1.0), (l, 0.25)]).collect();
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
        assert!((loss as f64 - want).abs() <= 1e-6 * want.max(1.0), "logit {l}, target {x}: loss {loss}, expected {want}");
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
    let neg_elbo =
        (0..reps).map(|_| mean(&negative_elbo(&vae, &x, None, &mut rng).unwrap().total(1.0).unwrap())).sum::<f64>() / reps as f64;
    let iwae_1 = (0..reps).map(|_| mean(&iwae_nll(&vae, &x, None, 1, &mut rng).unwrap())).sum::<f64>() / reps as f64;
    let iwae_10 = mean(&iwae_nll(&vae, &x, None, 10, &mut rng).unwrap());
    let iwae_100 = mean(&iwae_nll(&vae, &x, None, 100, &mut rng).unwrap());
    eprintln!("negative ELBO {neg_elbo:.3}, −IWAE k=1 {iwae_1:.3}, k=10 {iwae_10:.3}, k=100 {iwae_100:.3}");

    assert!(neg_elbo.is_finite() && neg_elbo > 100.0 && neg_elbo < 250.0, "negative ELBO {neg_elbo} is implausible");
    assert!((iwae_1 - neg_elbo).abs() < 1.0, "k=1: {iwae_1} should match the negative ELBO {neg_elbo}");
    assert!(iwae_10 < neg_elbo - 1.0, "k=10: {iwae_10} should be below the negative ELBO {neg_elbo}");
    assert!(iwae_10 < iwae_1 - 1.0, "k=10: {iwae_10} should be below k=1: {iwae_1}");
    assert!(iwae_100 < iwae_10 - 0.3, "k=100: {iwae_100} should be below k=10: {iwae_10}");
    // Still a bound on −log p(x): the gap closes slowly, it does not collapse.
    assert!(neg_elbo - iwae_100 < 30.0, "k=100 gap {} nats is implausibly large", neg_elbo - iwae_100);
}

/// A model whose decoder ignores z (decoder.0.weight = 0) and whose encoder ignores x
/// (encoder.0 and encoder.2.weight = 0), so q(z|x) = N(`mu`, exp(`log_var`)) for every image and
/// p(x|z) = p(x) is a product of Bernoullis with logits W2·relu(b0) + b2. Returns the model and,
/// computed independently in f64, those 784 logits.
fn z_independent_model(mu: [f32; 2], log_var: [f32; 2]) -> (Vae, Vec<f64>) {
    let (l, h) = (2, 8);
    let mut rng = StdRng::seed_from_u64(31);
    let mut uniform = |n: usize, a: f32| -> Vec<f32> { (0..n).map(|_| rng.random_range(-a..a)).collect() };
    let (b0, w2, b2) = (uniform(h, 1.0), uniform(784 * h, 0.5), uniform(784, 2.0));
    let logits: Vec<f64> =
        (0..784).map(|i| b2[i] as f64 + (0..h).map(|j| w2[i * h + j] as f64 * (b0[j] as f64).max(0.0)).sum::<f64>()).collect();
    let t = |v: Vec<f32>, shape: &[usize]| Tensor::from_vec(v, shape, &Device::Cpu).unwrap();
    let tensors: std::collections::HashMap<String, Tensor> = [
        ("encoder.0.weight", t(vec![0.0; h * 784], &[h, 784])),
        ("encoder.0.bias", t(vec![0.0; h], &[h])),
        ("encoder.2.weight", t(vec![0.0; 2 * l * h], &[2 * l, h])),
        ("encoder.2.bias", t(vec![mu[0], mu[1], log_var[0], log_var[1]], &[2 * l])),
        ("decoder.0.weight", t(vec![0.0; h * l], &[h, l])),
        ("decoder.0.bias", t(b0, &[h])),
        ("decoder.2.weight", t(w2, &[784, h])),
        ("decoder.2.bias", t(b2, &[784])),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v))
    .collect();
    let vae = Vae::new(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu), VaeConfig::new(l, h)).unwrap();
    (vae, logits)
}

/// With a decoder that ignores z, −log p(x) is known exactly: the Bernoulli NLL of x under the
/// fixed logits. When q(z|x) = p(z) every importance weight equals p(x), so `iwae_nll` must equal
/// −log p(x) for every k (a missing −ln k or a wrong log q would show). When q ≠ p, k = 1 exceeds
/// it by KL(q||p) on average and k = 1000 closes the gap to within 0.05 nats.
#[test]
fn iwae_is_exact_when_the_decoder_ignores_z() {
    let x = common::mnist_test().range(0, 200, &Device::Cpu).unwrap();
    let xs = x.to_vec2::<f32>().unwrap();

    let (vae, logits) = z_independent_model([0.0, 0.0], [0.0, 0.0]);
    let nll: Vec<f64> = xs.iter().map(|img| img.iter().zip(&logits).map(|(&p, &l)| bce_reference(l, p as f64)).sum()).collect();
    let mut rng = Rng::new(8);
    for k in [1, 7, 50] {
        let got = iwae_nll(&vae, &x, None, k, &mut rng).unwrap().to_vec1::<f32>().unwrap();
        for (i, (&g, &want)) in got.iter().zip(&nll).enumerate() {
            assert!((g as f64 - want).abs() <= 2e-5 * want, "q = p, k={k}, image {i}: {g} vs −log p(x) = {want}");
        }
    }

    let (mu, log_var) = ([0.8f32, -0.5], [-0.3f32, 0.4]);
    let (vae, _) = z_independent_model(mu, log_var);
    let kl: f64 = (0..2).map(|d| 0.5 * ((log_var[d] as f64).exp() + (mu[d] as f64).powi(2) - 1.0 - log_var[d] as f64)).sum();
    let gaps = |k: usize, images: usize, rng: &mut Rng| -> Vec<f64> {
        let got = iwae_nll(&vae, &x.narrow(0, 0, images).unwrap(), None, k, rng).unwrap().to_vec1::<f32>().unwrap();
        got.iter().zip(&nll).map(|(&g, &n)| g as f64 - n).collect()
    };
    let k1: Vec<f64> = (0..5).flat_map(|_| gaps(1, 200, &mut rng)).collect();
    let n = k1.len() as f64;
    let mean1 = k1.iter().sum::<f64>() / n;
    let se1 = (k1.iter().map(|g| (g - mean1).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
    let gap_big = gaps(1000, 40, &mut rng).iter().sum::<f64>() / 40.0;
    eprintln!("KL {kl:.4}; k=1 gap {mean1:.4} ± {se1:.4}; k=1000 gap {gap_big:.4}");
    assert!((mean1 - kl).abs() <= 4.0 * se1 + 0.01, "k=1: mean gap {mean1} ± {se1}, expected KL = {kl}");
    assert!(gap_big.abs() <= 0.05, "k=1000: gap {gap_big} to −log p(x) should be nearly closed");
}

/// `iwae_nll` rejects k = 0 with an error instead of dividing by zero.
#[test]
fn iwae_rejects_zero_samples() {
    let vae = fresh_model(VaeConfig::new(2, 8), 0, DType::F32).1;
    let x = Tensor::zeros((2, 784), DType::F32, &Device::Cpu).unwrap();
    assert!(iwae_nll(&vae, &x, None, 0, &mut Rng::new(0)).is_err());
}

/// A fresh trainable model in `dtype`: its parameters (name, Var), sorted by name, and the model
/// reading them.
fn fresh_model(config: VaeConfig, seed: u64, dtype: DType) -> (Vec<(String, Var)>, Vae) {
    let device = Device::Cpu;
    let init = vae::weights::init_varmap(config, &mut Rng::new(seed), &device).unwrap();
    let varmap = candle_nn::VarMap::new();
    let mut vars = Vec::new();
    for (name, var) in init.data().lock().unwrap().iter() {
        let var = Var::from_tensor(&var.as_tensor().to_dtype(dtype).unwrap()).unwrap();
        varmap.data().lock().unwrap().insert(name.clone(), var.clone());
        vars.push((name.clone(), var));
    }
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let vae = Vae::new(VarBuilder::from_varmap(&varmap, dtype, &device), config).unwrap();
    (vars, vae)
}

/// Backpropagating the batch-mean negative ELBO of the F32 training model on real images gives
/// every one of the 8 parameters a finite, non-zero gradient.
#[test]
fn negative_elbo_gradients_are_finite_and_nonzero() {
    let config = VaeConfig::new(4, 32);
    let (vars, vae) = fresh_model(config, 11, DType::F32);
    assert_eq!(vars.len(), 8);
    let x = common::mnist_test().range(0, 64, &Device::Cpu).unwrap();
    let loss = negative_elbo(&vae, &x, None, &mut Rng::new(5)).unwrap().mean_total(1.0).unwrap();
    let grads = loss.backward().unwrap();
    for (name, var) in &vars {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for `{name}`"));
        assert_eq!(g.dims(), var.dims(), "gradient of `{name}` has the wrong shape");
        let values = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "gradient of `{name}` is not finite");
        let norm: f64 = values.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        assert!(norm > 0.0, "gradient of `{name}` is zero");
    }
}

/// In F64, the backpropagated gradient of the negative ELBO (fixed ε, β = 1 and β = 0.5) matches
/// central finite differences element by element, for every bias element and a sample of every
/// weight matrix, so no path (through mu, through σ = exp(log_var/2), through the KL term) is
/// missing, detached or mis-differentiated.
#[test]
fn negative_elbo_gradients_match_finite_differences() {
    let config = VaeConfig::new(3, 16);
    let (vars, vae) = fresh_model(config, 21, DType::F64);
    let x = common::mnist_test().range(0, 32, &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap();
    // Larger noise than N(0, 1) so that the σ path carries real weight.
    let eps = (Rng::new(6).normal((32, config.latent), &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap() * 1.5).unwrap();
    for beta in [1.0, 0.5] {
        let loss_at =
            || -> f64 { negative_elbo_with_noise(&vae, &x, None, &eps).unwrap().mean_total(beta).unwrap().to_scalar::<f64>().unwrap() };
        let grads = negative_elbo_with_noise(&vae, &x, None, &eps).unwrap().mean_total(beta).unwrap().backward().unwrap();
        let mut pick = StdRng::seed_from_u64(17);
        let mut checked = 0;
        let mut worst = 0f64; // largest |error| / tolerance
        for (name, var) in &vars {
            let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let original = var.as_tensor().copy().unwrap();
            let flat = original.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let indices: Vec<usize> =
                if flat.len() <= 64 { (0..flat.len()).collect() } else { (0..24).map(|_| pick.random_range(0..flat.len())).collect() };
            let h = 1e-5;
            for i in indices {
                let at = |delta: f64| {
                    let mut values = flat.clone();
                    values[i] += delta;
                    var.set(&Tensor::from_vec(values, original.shape(), &Device::Cpu).unwrap()).unwrap();
                    loss_at()
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                var.set(&original).unwrap();
                worst = worst.max((fd - g[i]).abs() / (1e-5 * fd.abs() + 1e-7));
                assert!(
                    (fd - g[i]).abs() <= 1e-5 * fd.abs() + 1e-7,
                    "β={beta}: d loss / d {name}[{i}]: backprop {} vs finite difference {fd}",
                    g[i]
                );
                checked += 1;
            }
        }
        eprintln!("β={beta}: {checked} derivatives checked, worst error {worst:.3} of the tolerance");
        assert!(checked > 100);
    }
}
