//! Training with Adam ([`crate::optim::Adam`], fused) on the (β-weighted) negative ELBO, seeded shuffling, and held-out
//! evaluation.

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW, VarBuilder, VarMap};

use crate::data::Dataset;
use crate::gradient::negative_elbo_gradient;
use crate::loss::{iwae_nll, negative_elbo};
use crate::model::{Vae, VaeConfig};
use crate::optim::{Adam, AdamState};
use crate::parallel::{self, Minibatch, PartGradient};
use crate::rng::{Rng, RngState};
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
    /// The trainable parameters, sorted by name.
    params: Vec<Var>,
    /// Their names (PyTorch's), in the same order.
    names: Vec<String>,
}

/// Everything a [`Trainer`] needs to go on exactly where it stood (a resumed run takes the same
/// steps as one never interrupted): [`Trainer::state`], [`Trainer::from_state`], saved by
/// [`crate::resume`].
pub struct TrainerState {
    pub config: TrainConfig,
    /// The learning rate now (divergence halves it).
    pub learning_rate: f64,
    /// The weights by name, sorted by name.
    pub params: Vec<(String, Tensor)>,
    /// The weights a divergence falls back to, in the order of `params`.
    pub fallback: Option<Vec<Tensor>>,
    pub adam: AdamState,
    pub rng: RngState,
    /// This epoch's order of the training images, and how far through it the run is.
    pub order: Vec<usize>,
    pub cursor: usize,
    pub epoch: usize,
    pub steps: usize,
    pub healthy_steps: usize,
    pub best_loss: f64,
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
        if !(1..=crate::limits::MAX_BATCH).contains(&config.batch_size) {
            candle_core::bail!("batch size {} is out of range 1..={}", config.batch_size, crate::limits::MAX_BATCH);
        }
        if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
            candle_core::bail!("learning rate must be a positive number, got {}", config.learning_rate);
        }
        if !(config.beta.is_finite() && config.beta >= 0.0) {
            candle_core::bail!("β must be a non-negative number, got {}", config.beta);
        }
        let vae = Vae::new(VarBuilder::from_varmap(&varmap, DType::F32, device), config.vae)?;
        let (names, params): (Vec<String>, Vec<Var>) = {
            let named = varmap.data().lock().map_err(|_| candle_core::Error::Msg("the parameter map is poisoned".into()))?;
            let mut named: Vec<(String, Var)> = named.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            named.sort_by(|a, b| a.0.cmp(&b.0));
            named.into_iter().unzip()
        };
        let adam = ParamsAdamW { lr: config.learning_rate, weight_decay: 0.0, ..Default::default() };
        let optimizer = Adam::new(params.clone(), adam)?;
        Ok(Self {
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
            params,
            names,
        })
    }

    /// A copy of where this trainer stands.
    pub fn state(&self) -> Result<TrainerState> {
        let params = self.names.iter().zip(&self.params).map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?))).collect::<Result<_>>()?;
        let fallback = match &self.checkpoint {
            Some(saved) => Some(saved.iter().map(|(_, t)| t.copy()).collect::<Result<_>>()?),
            None => None,
        };
        Ok(TrainerState {
            config: self.config,
            learning_rate: self.learning_rate(),
            params,
            fallback,
            adam: self.optimizer.state()?,
            rng: self.rng.state(),
            order: self.order.clone(),
            cursor: self.cursor,
            epoch: self.epoch,
            steps: self.steps,
            healthy_steps: self.healthy_steps,
            best_loss: self.best_loss,
        })
    }

    /// A trainer that goes on exactly where the one whose `state` this is stood.
    pub fn from_state(state: TrainerState, device: &Device) -> Result<Self> {
        let expected: Vec<(String, Vec<usize>)> = {
            let mut specs: Vec<_> = state.config.vae.parameter_specs().into_iter().map(|s| (s.name, s.shape)).collect();
            specs.sort();
            specs
        };
        let found: Vec<(String, Vec<usize>)> = state.params.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
        if found != expected {
            candle_core::bail!("the saved weights do not fit a {} model", state.config.vae.describe());
        }
        if state.cursor > state.order.len() || state.fallback.as_ref().is_some_and(|f| f.len() != state.params.len()) {
            candle_core::bail!("the saved training position is inconsistent");
        }
        let varmap = weights::varmap_of(state.params.iter().map(|(n, t)| (n.as_str(), t)))?;
        let mut trainer = Self::from_varmap(varmap, Rng::from_state(state.rng), state.config, device)?;
        trainer.optimizer.restore(state.adam)?;
        trainer.set_learning_rate(state.learning_rate);
        trainer.checkpoint = match state.fallback {
            Some(saved) => Some(trainer.params.iter().cloned().zip(saved).collect()),
            None => None,
        };
        trainer.order = state.order;
        trainer.cursor = state.cursor;
        trainer.epoch = state.epoch;
        trainer.steps = state.steps;
        trainer.healthy_steps = state.healthy_steps;
        trainer.best_loss = state.best_loss;
        Ok(trainer)
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

    /// How many images this epoch's order holds (0 before the first step).
    pub fn order_len(&self) -> usize {
        self.order.len()
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

    /// One Adam step on the minibatch `x` [B, P] (with one-hot labels `y` [B, C] for a
    /// conditional model); reports the batch's statistics before the step.
    pub fn step(&mut self, x: &Tensor, y: Option<&Tensor>) -> Result<StepReport> {
        let batch = self.minibatch(x, y)?;
        self.step_minibatch(&batch)
    }

    /// One Adam step on `batch`, its gradient computed in [`Self::set_shards`] parts.
    pub fn step_minibatch(&mut self, batch: &Minibatch) -> Result<StepReport> {
        let shards = self.shards.min(batch.len()).max(1);
        let beta = self.config.beta;
        let vae = &self.vae;
        let b = batch.len();
        let part = move |i: usize| negative_elbo_gradient(vae, &batch.part(i, shards)?, b, beta);
        let parts: Vec<Result<PartGradient>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..shards).map(|i| scope.spawn(move || part(i))).collect();
            let mut parts = vec![part(0)];
            parts.extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|_| candle_core::bail!("a gradient thread panicked"))));
            parts
        });
        let mut total = PartGradient::default();
        for part in parts {
            parallel::accumulate(&mut total, &part?, &self.params)?;
        }
        self.apply(b, total)
    }

    /// The minibatch `x` [B, P] (labels `y` [B, C]) with fresh noise ε [B, L] for its step.
    pub fn minibatch(&mut self, x: &Tensor, y: Option<&Tensor>) -> Result<Minibatch> {
        let eps = self.rng.normal((x.dim(0)?, self.config.vae.latent), x.device())?;
        Ok(Minibatch { x: x.clone(), y: y.cloned(), eps })
    }

    /// The next minibatch of `data` (reshuffled at each epoch's start) with its noise. An epoch
    /// ends with its last (possibly partial) batch; [`Self::epoch`] then increases.
    pub fn next_minibatch(&mut self, data: &Dataset) -> Result<Minibatch> {
        if data.is_empty() {
            candle_core::bail!("cannot train on an empty dataset");
        }
        data.check_shape(self.config.vae.shape)?;
        if self.cursor == 0 || self.order.len() != data.len() {
            self.order = self.rng.permutation(data.len());
            self.cursor = 0;
        }
        let end = (self.cursor + self.config.batch_size).min(data.len());
        let (x, y) = data.model_input(&self.order[self.cursor..end], self.config.vae.classes, self.vae.device())?;
        let batch = self.minibatch(&x, y.as_ref())?;
        self.cursor = end;
        if self.cursor == data.len() {
            self.cursor = 0;
            self.epoch += 1;
        }
        Ok(batch)
    }

    /// The gradient of `part`, images of a step on `batch_size` images (see [`crate::parallel`]).
    pub fn part_gradient(&self, part: &Minibatch, batch_size: usize) -> Result<PartGradient> {
        negative_elbo_gradient(&self.vae, part, batch_size, self.config.beta)
    }

    /// The parameters in the order of flattened gradients ([`parallel::flatten`]): sorted by name.
    pub fn params(&self) -> &[Var] {
        &self.params
    }

    /// Completes a step of `batch_size` images from the sum of all its parts' gradients: checks
    /// for divergence, then updates the weights with Adam.
    ///
    /// The step diverges when the loss or a gradient is NaN or infinite, or the loss exceeds
    /// [`DIVERGENCE_FACTOR`] times the lowest batch loss so far. Then the update is skipped, the
    /// weights go back to the last checkpoint (taken every [`CHECKPOINT_EVERY`] healthy steps, so
    /// its loss was finite), the optimiser's moments restart and the learning rate is halved.
    pub fn apply(&mut self, batch_size: usize, total: PartGradient) -> Result<StepReport> {
        if self.checkpoint.is_none() {
            self.checkpoint = Some(self.snapshot()?);
        }
        let n = batch_size.max(1) as f64;
        let (recon, kl) = (total.recon_sum / n, total.kl_sum / n);
        let stats = ElboStats { neg_elbo: recon + kl, recon, kl, n: batch_size };
        self.steps += 1;
        let healthy = self.loss_healthy(&stats) && self.gradients_finite(&total.grads)? && {
            self.optimizer.step(&total.grads)?;
            true
        };
        if healthy {
            self.best_loss = self.best_loss.min(stats.neg_elbo);
            self.healthy_steps += 1;
            if self.healthy_steps.is_multiple_of(CHECKPOINT_EVERY) {
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

    /// Copies of the current weights.
    fn snapshot(&self) -> Result<Vec<(Var, Tensor)>> {
        self.params.iter().map(|v| Ok((v.clone(), v.as_tensor().copy()?))).collect()
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
        self.optimizer = Adam::new(self.params.clone(), params)?;
        self.optimizer.set_threads(self.shards);
        Ok(())
    }

    fn gradients_finite(&self, grads: &candle_core::backprop::GradStore) -> Result<bool> {
        for var in &self.params {
            if let Some(g) = grads.get(var) {
                // NaN propagates through the sum and an inf stays inf (or becomes NaN).
                if !g.sum_all()?.to_scalar::<f32>()?.is_finite() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// One step on the next minibatch of `data` ([`Self::next_minibatch`]).
    pub fn train_step(&mut self, data: &Dataset) -> Result<StepReport> {
        let batch = self.next_minibatch(data)?;
        self.step_minibatch(&batch)
    }
}

/// Mean negative ELBO (one z sample per image, drawn from `rng`) of every image in `data`.
pub fn evaluate(vae: &Vae, data: &Dataset, rng: &mut Rng) -> Result<ElboStats> {
    data.check_shape(vae.config().shape)?;
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
    data.check_shape(vae.config().shape)?;
    let mut total = 0f64;
    for start in (0..data.len()).step_by(100) {
        let (x, y) = data.model_input_range(start, 100, vae.config().classes, vae.device())?;
        total += iwae_nll(vae, &x, y.as_ref(), k, rng)?.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
    }
    Ok(total / data.len().max(1) as f64)
}
