//! Training with Adam ([`crate::optim::Adam`], fused) on the (β-weighted) negative ELBO, seeded shuffling, and held-out
//! evaluation.

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW, VarBuilder, VarMap};

use crate::data::Dataset;
use crate::loss::{iwae_nll, negative_elbo, negative_elbo_with_noise};
use crate::model::{Vae, VaeConfig};
use crate::optim::Adam;
use crate::rng::Rng;
use crate::weights;

/// Hyper-parameters of a training run.
#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    pub vae: VaeConfig,
    /// Weight of the KL term (1 gives the ELBO; β-VAE otherwise).
    pub beta: f64,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub seed: u64,
}

/// Means per image over a batch or a dataset, in nats.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ElboStats {
    /// Negative ELBO: `recon + kl` (β = 1, whatever β training uses).
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl: f64,
    /// Number of images averaged.
    pub n: usize,
}

/// A batch loss this many times the lowest so far counts as divergence.
pub const DIVERGENCE_FACTOR: f64 = 10.0;
/// Healthy steps between the checkpoints that divergence falls back to.
pub const CHECKPOINT_EVERY: usize = 100;

/// What one training step did.
#[derive(Clone, Copy, Debug)]
pub struct StepReport {
    /// The minibatch's statistics before the update (NaN or inf when it diverged).
    pub stats: ElboStats,
    /// The step diverged: the weights went back to the last checkpoint and the learning rate was halved.
    pub diverged: bool,
}

/// Owns the trainable parameters, the optimiser and the RNG; steps through shuffled epochs.
pub struct Trainer {
    varmap: VarMap,
    vae: Vae,
    optimizer: Adam,
    rng: Rng,
    config: TrainConfig,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    steps: usize,
    healthy_steps: usize,
    best_loss: f64,
    checkpoint: Option<Vec<(Var, Tensor)>>,
    shards: usize,
}

impl Trainer {
    /// A fresh model with PyTorch's default initialisation, seeded by `config.seed`.
    pub fn new(config: TrainConfig, device: &Device) -> Result<Self> {
        let mut rng = Rng::new(config.seed);
        let varmap = weights::init_varmap(config.vae, &mut rng, device)?;
        Self::from_varmap(varmap, rng, config, device)
    }

    /// Continues training a copy of `vae` (its sizes override `config.vae`).
    pub fn fine_tune(vae: &Vae, mut config: TrainConfig) -> Result<Self> {
        config.vae = vae.config();
        let varmap = weights::varmap_from(vae)?;
        Self::from_varmap(varmap, Rng::new(config.seed), config, &vae.device().clone())
    }

    fn from_varmap(varmap: VarMap, rng: Rng, config: TrainConfig, device: &Device) -> Result<Self> {
        if config.batch_size == 0 {
            candle_core::bail!("batch size must be at least 1");
        }
        if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
            candle_core::bail!("learning rate must be a positive number, got {}", config.learning_rate);
        }
        if !(config.beta.is_finite() && config.beta >= 0.0) {
            candle_core::bail!("β must be a non-negative number, got {}", config.beta);
        }
        let vae = Vae::new(VarBuilder::from_varmap(&varmap, DType::F32, device), config.vae)?;
        let params = ParamsAdamW { lr: config.learning_rate, weight_decay: 0.0, ..Default::default() };
        let optimizer = Adam::new(varmap.all_vars(), params)?;
        Ok(Self {
            varmap,
            vae,
            optimizer,
            rng,
            config,
            order: Vec::new(),
            cursor: 0,
            epoch: 0,
            steps: 0,
            healthy_steps: 0,
            best_loss: f64::INFINITY,
            checkpoint: None,
            shards: 1,
        })
    }

    /// The model being trained (shares its parameters).
    pub fn vae(&self) -> &Vae {
        &self.vae
    }

    pub fn config(&self) -> TrainConfig {
        self.config
    }

    /// Completed epochs.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn learning_rate(&self) -> f64 {
        self.optimizer.learning_rate()
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_learning_rate(lr)
    }

    /// Data parallelism (native builds): each step splits its minibatch into `shards` parts whose
    /// gradients are computed on that many threads and summed, which gives the same step as one
    /// pass over the whole batch. Pair it with single-threaded matrix products
    /// (`RAYON_NUM_THREADS=1`). wasm has no threads, so there it stays 1.
    pub fn set_shards(&mut self, shards: usize) {
        self.shards = if cfg!(target_arch = "wasm32") { 1 } else { shards.max(1) };
        self.optimizer.set_threads(self.shards);
    }

    /// One Adam step on the minibatch `x` [B, 784] (with one-hot labels `y` [B, C] for a
    /// conditional model); reports the batch's statistics before the step.
    ///
    /// The step diverges when the loss or a gradient is NaN or infinite, or the loss exceeds
    /// [`DIVERGENCE_FACTOR`] times the lowest batch loss so far. Then the update is skipped, the
    /// weights go back to the last checkpoint (taken every [`CHECKPOINT_EVERY`] healthy steps, so
    /// its loss was finite), the optimiser's moments restart and the learning rate is halved.
    pub fn step(&mut self, x: &Tensor, y: Option<&Tensor>) -> Result<StepReport> {
        if self.checkpoint.is_none() {
            self.checkpoint = Some(self.snapshot()?);
        }
        let b = x.dim(0)?;
        let eps = self.rng.normal((b, self.config.vae.latent), x.device())?;
        let shards = self.shards.min(b);
        let (stats, grads) = if shards > 1 {
            self.sharded_gradients(x, y, &eps, shards)?
        } else {
            let terms = negative_elbo_with_noise(&self.vae, x, y, &eps)?;
            let loss = terms.mean_total(self.config.beta)?;
            let recon = terms.recon.mean_all()?.to_scalar::<f32>()? as f64;
            let kl = terms.kl.mean_all()?.to_scalar::<f32>()? as f64;
            let stats = ElboStats { neg_elbo: recon + kl, recon, kl, n: b };
            // The backward pass is skipped for a loss that already counts as divergence.
            let grads = if self.loss_healthy(&stats) { Some(loss.backward()?) } else { None };
            (stats, grads)
        };
        self.steps += 1;
        let healthy = self.loss_healthy(&stats) && {
            let Some(grads) = grads else { candle_core::bail!("internal: no gradients for a healthy loss") };
            let finite = self.gradients_finite(&grads)?;
            if finite {
                self.optimizer.step(&grads)?;
            }
            finite
        };
        if healthy {
            self.best_loss = self.best_loss.min(stats.neg_elbo);
            self.healthy_steps += 1;
            if self.healthy_steps % CHECKPOINT_EVERY == 0 {
                self.checkpoint = Some(self.snapshot()?);
            }
        } else {
            self.recover()?;
        }
        Ok(StepReport { stats, diverged: !healthy })
    }

    fn loss_healthy(&self, stats: &ElboStats) -> bool {
        stats.neg_elbo.is_finite() && stats.neg_elbo <= DIVERGENCE_FACTOR * self.best_loss
    }

    /// The batch's statistics and the gradient of its mean loss, from `shards` contiguous parts
    /// computed on as many threads: each part's loss is its sum over images divided by the whole
    /// batch size, so the parts' gradients add up to the whole batch's.
    fn sharded_gradients(&self, x: &Tensor, y: Option<&Tensor>, eps: &Tensor, shards: usize) -> Result<(ElboStats, Option<GradStore>)> {
        let b = x.dim(0)?;
        let beta = self.config.beta;
        let part = |i: usize| -> Result<(f64, f64, GradStore)> {
            let (start, end) = (i * b / shards, (i + 1) * b / shards);
            let narrow = |t: &Tensor| t.narrow(0, start, end - start);
            let ys = y.map(narrow).transpose()?;
            let terms = negative_elbo_with_noise(&self.vae, &narrow(x)?, ys.as_ref(), &narrow(eps)?)?;
            let loss = (terms.total(beta)?.sum_all()? / b as f64)?;
            let recon = terms.recon.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
            let kl = terms.kl.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
            Ok((recon, kl, loss.backward()?))
        };
        let parts: Vec<Result<(f64, f64, GradStore)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..shards).map(|i| scope.spawn(move || part(i))).collect();
            let mut parts = vec![part(0)];
            parts.extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|_| candle_core::bail!("a gradient thread panicked"))));
            parts
        });
        let (mut recon, mut kl, mut grads) = (0.0, 0.0, GradStore::default());
        for part in parts {
            let (r, k, g) = part?;
            recon += r;
            kl += k;
            for var in self.varmap.all_vars() {
                if let Some(gi) = g.get(&var) {
                    let sum = match grads.get(&var) {
                        Some(acc) => (acc + gi)?,
                        None => gi.clone(),
                    };
                    grads.insert(&var, sum);
                }
            }
        }
        let (recon, kl) = (recon / b as f64, kl / b as f64);
        Ok((ElboStats { neg_elbo: recon + kl, recon, kl, n: b }, Some(grads)))
    }

    /// Copies of the current weights.
    fn snapshot(&self) -> Result<Vec<(Var, Tensor)>> {
        self.varmap.all_vars().into_iter().map(|v| Ok((v.clone(), v.as_tensor().copy()?))).collect()
    }

    /// Back to the checkpoint, with fresh optimiser moments and half the learning rate.
    fn recover(&mut self) -> Result<()> {
        if let Some(checkpoint) = &self.checkpoint {
            for (var, saved) in checkpoint {
                var.set(saved)?;
            }
        }
        let mut params = self.optimizer.params();
        params.lr /= 2.0;
        self.optimizer = Adam::new(self.varmap.all_vars(), params)?;
        self.optimizer.set_threads(self.shards);
        Ok(())
    }

    fn gradients_finite(&self, grads: &candle_core::backprop::GradStore) -> Result<bool> {
        for var in self.varmap.all_vars() {
            if let Some(g) = grads.get(&var) {
                // NaN propagates through the sum and an inf stays inf (or becomes NaN).
                if !g.sum_all()?.to_scalar::<f32>()?.is_finite() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// One step on the next minibatch of `data`, reshuffling at each epoch's start. An epoch ends
    /// after its last (possibly partial) batch; [`Self::epoch`] then increases.
    pub fn train_step(&mut self, data: &Dataset) -> Result<StepReport> {
        if data.is_empty() {
            candle_core::bail!("cannot train on an empty dataset");
        }
        if self.cursor == 0 || self.order.len() != data.len() {
            self.order = self.rng.permutation(data.len());
            self.cursor = 0;
        }
        let end = (self.cursor + self.config.batch_size).min(data.len());
        let classes = self.config.vae.classes;
        let (x, y) = data.model_input(&self.order[self.cursor..end], classes, self.vae.device())?;
        let stats = self.step(&x, y.as_ref())?;
        self.cursor = end;
        if self.cursor == data.len() {
            self.cursor = 0;
            self.epoch += 1;
        }
        Ok(stats)
    }
}

/// Mean negative ELBO (one z sample per image, drawn from `rng`) of every image in `data`.
pub fn evaluate(vae: &Vae, data: &Dataset, rng: &mut Rng) -> Result<ElboStats> {
    let (mut recon, mut kl) = (0f64, 0f64);
    for start in (0..data.len()).step_by(1000) {
        let (x, y) = data.model_input_range(start, 1000, vae.config().classes, vae.device())?;
        let terms = negative_elbo(vae, &x, y.as_ref(), rng)?;
        recon += terms.recon.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        kl += terms.kl.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
    }
    let n = data.len().max(1) as f64;
    Ok(ElboStats { neg_elbo: (recon + kl) / n, recon: recon / n, kl: kl / n, n: data.len() })
}

/// Mean IWAE estimate of −log p(x) with `k` samples over every image in `data`.
pub fn evaluate_iwae(vae: &Vae, data: &Dataset, k: usize, rng: &mut Rng) -> Result<f64> {
    let mut total = 0f64;
    for start in (0..data.len()).step_by(100) {
        let (x, y) = data.model_input_range(start, 100, vae.config().classes, vae.device())?;
        total += iwae_nll(vae, &x, y.as_ref(), k, rng)?.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
    }
    Ok(total / data.len().max(1) as f64)
}
